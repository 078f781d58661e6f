"""ioctl: generic fd requests here; the kernel's terminals answer their own
(akuma.kernel.tty.ioctl); terminal requests on host terminals are passed to
the host (`akuma run` with a redirected stdin and a terminal stdout)."""
import fcntl as _hostfcntl
import struct
import termios as _termios

from akuma.abi import KernelError
from akuma.abi.errors import ENOTTY, EINVAL
from akuma.abi import fcntl as F
from akuma.kernel.syscalls.args import s32, read_user, write_user
from akuma.kernel.syscalls.registry import syscall

TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TIOCGPGRP, TIOCSPGRP, TIOCGWINSZ, TIOCSWINSZ = 0x540F, 0x5410, 0x5413, 0x5414
FIONREAD, FIONBIO, FIONCLEX, FIOCLEX = 0x541B, 0x5421, 0x5450, 0x5451
NCCS = 19
# Kernel struct termios (asm-generic): 4 flag words, c_line, c_cc[19].
_TERMIOS = struct.Struct(f"<IIIIB{NCCS}s")


@syscall("ioctl", "fd hex hex")
def sys_ioctl(t, fd, req, arg, *_):
    p = t.process
    fd = s32(fd)
    f = p.fds.get(fd)
    req &= 0xFFFFFFFF
    if req == FIOCLEX or req == FIONCLEX:
        p.fds.set_cloexec(fd, req == FIOCLEX)
        return 0
    if req == FIONBIO:
        (on,) = struct.unpack("<i", read_user(t, arg, 4))
        f.flags = (f.flags | F.O_NONBLOCK) if on else (f.flags & ~F.O_NONBLOCK)
        return 0
    if hasattr(f, "tty_ioctl"):         # the kernel's terminals (akuma.kernel.tty)
        return f.tty_ioctl(t, req, arg)
    if hasattr(f, "dev_ioctl"):         # devices needing the task (akuma.kernel.loopdev)
        return f.dev_ioctl(t, req, arg)
    if req == FIONREAD and hasattr(f, "fionread"):
        write_user(t, arg, struct.pack("<i", f.fionread()))
        return 0
    if getattr(f, "isatty", False) and f.host_fd is not None:
        return _host_tty_ioctl(t, f, req, arg)
    if getattr(f, "is_socket", False):     # interface requests (SIOCGIF*) need the task
        from akuma.kernel.syscalls.net import socket_ioctl
        return socket_ioctl(t, f, req, arg)
    return f.ioctl(req, arg)


def _host_tty_ioctl(t, f, req, arg):
    fd = f.host_fd
    try:
        if req == TCGETS:
            iflag, oflag, cflag, lflag, _ispeed, _ospeed, cc = _termios.tcgetattr(fd)
            ccb = bytes(c[0] if isinstance(c, bytes) else c for c in cc[:NCCS])
            write_user(t, arg, _TERMIOS.pack(iflag, oflag, cflag, lflag, 0, ccb.ljust(NCCS, b"\0")))
            return 0
        if req in (TCSETS, TCSETSW, TCSETSF):
            iflag, oflag, cflag, lflag, _line, ccb = _TERMIOS.unpack(read_user(t, arg, _TERMIOS.size))
            old = _termios.tcgetattr(fd)
            t.kernel.remember_host_tty(fd, old)
            cc = list(old[6])
            for i in range(min(NCCS, len(cc))):
                cc[i] = ccb[i] if isinstance(cc[i], int) else bytes([ccb[i]])
            when = {TCSETS: _termios.TCSANOW, TCSETSW: _termios.TCSADRAIN,
                    TCSETSF: _termios.TCSAFLUSH}[req]
            _termios.tcsetattr(fd, when, [iflag, oflag, cflag, lflag, old[4], old[5], cc])
            return 0
        if req == TIOCGWINSZ:
            write_user(t, arg, _hostfcntl.ioctl(fd, _termios.TIOCGWINSZ, b"\0" * 8))
            return 0
        if req == TIOCSWINSZ:
            _hostfcntl.ioctl(fd, _termios.TIOCSWINSZ, read_user(t, arg, 8))
            return 0
        if req == TIOCGPGRP:
            write_user(t, arg, struct.pack("<i", t.process.pgid))
            return 0
        if req == TIOCSPGRP:
            return 0
        if req == FIONREAD:
            write_user(t, arg, _hostfcntl.ioctl(fd, _termios.FIONREAD, b"\0" * 4))
            return 0
    except OSError as e:
        raise KernelError(e.errno or EINVAL) from None
    return -ENOTTY
