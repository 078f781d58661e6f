"""Terminal ioctls (tty_ioctl, tty_mode_ioctl, n_tty_ioctl and the pty
master's own).  On a pty master the settings requests act on its slave,
as Linux does."""
import struct

from akuma.abi import KernelError
from akuma.abi import signals as S
from akuma.abi.errors import EINVAL, EIO, ENOTTY, EPERM, ESRCH
from akuma.kernel.syscalls.args import read_user, write_user
from akuma.kernel.tty import jobctl
from akuma.kernel.tty import termios as T


_get = read_user


def _put(t, arg, data):
    write_user(t, arg, data)
    return 0


def _int(t, arg):
    return struct.unpack("<i", _get(t, arg, 4))[0]


def _checked(t, tty):
    """tty_check_change for requests that change the terminal: None means
    the caller was sent SIGTTOU and waits."""
    r = jobctl.check_change(t, tty, S.SIGTTOU)
    if r is None:
        return None
    if r < 0:
        raise KernelError(-r)
    return 0


def tty_ioctl(t, f, tty, req, arg, master):
    k = t.kernel
    p = t.process
    if getattr(f, "hung_up", False):
        return -ENOTTY if req == T.TIOCSPGRP else -EIO
    # -- settings -------------------------------------------------------------------------
    if req == T.TCGETS:
        return _put(t, arg, tty.termios.pack())
    if req == T.TCGETS2:
        return _put(t, arg, tty.termios.pack2())
    if req == T.TCGETA:
        return _put(t, arg, tty.termios.pack_termio())
    if req in (T.TCSETS, T.TCSETSW, T.TCSETSF, T.TCSETS2, T.TCSETSW2, T.TCSETSF2,
               T.TCSETA, T.TCSETAW, T.TCSETAF):
        if _checked(t, tty) is None:
            return None
        if req in (T.TCSETS2, T.TCSETSW2, T.TCSETSF2):
            new = T.Termios.unpack2(_get(t, arg, T.TERMIOS2.size))
        elif req in (T.TCSETA, T.TCSETAW, T.TCSETAF):
            new = tty.termios.with_termio(_get(t, arg, T.TERMIO.size))
        else:
            new = T.Termios.unpack(_get(t, arg, T.TERMIOS.size))
        if req in (T.TCSETSF, T.TCSETSF2, T.TCSETAF):
            tty.ldisc.flush_input()
            tty.pending.clear()
        tty.set_termios(new)
        return 0
    if req == T.TIOCGWINSZ:
        return _put(t, arg, tty.winsize.pack())
    if req == T.TIOCSWINSZ:
        tty.set_winsize(T.WinSize.unpack(_get(t, arg, T.WINSIZE.size)))
        return 0
    if req == T.TCFLSH:
        if _checked(t, tty) is None:
            return None
        which = arg & 0xFFFFFFFF
        if which not in (T.TCIFLUSH, T.TCOFLUSH, T.TCIOFLUSH):
            return -EINVAL
        if which in (T.TCIFLUSH, T.TCIOFLUSH):
            tty.ldisc.flush_input()
            tty.pending.clear()
        if which in (T.TCOFLUSH, T.TCIOFLUSH):
            tty.device.flush_output()
        tty.wake_all()
        return 0
    if req == T.TCXONC:
        if _checked(t, tty) is None:
            return None
        action = arg & 0xFFFFFFFF
        if action == T.TCOOFF:
            tty.ldisc.stopped = True
        elif action == T.TCOON:
            tty.ldisc.stopped = False
            tty.wake_all()
        elif action not in (T.TCIOFF, T.TCION):
            return -EINVAL
        return 0
    if req in (T.TCSBRK, T.TCSBRKP, T.TIOCSBRK, T.TIOCCBRK):
        return 0                        # no line to break; output is never held back
    if req == T.TIOCOUTQ:
        return _put(t, arg, struct.pack("<i", tty.device.queued()))
    if req == T.FIONREAD:
        return _put(t, arg, struct.pack("<i", f.fionread()))
    if req == T.TIOCGETD:
        return _put(t, arg, struct.pack("<i", 0))       # N_TTY
    if req == T.TIOCSETD:
        return 0 if _int(t, arg) == 0 else -EINVAL
    if req == T.TIOCEXCL:
        tty.exclusive = True
        return 0
    if req == T.TIOCNXCL:
        tty.exclusive = False
        return 0
    if req == T.TIOCGEXCL:
        return _put(t, arg, struct.pack("<i", int(tty.exclusive)))
    if req == T.TIOCGDEV:
        return _put(t, arg, struct.pack("<I", tty.rdev & 0xFFFFFFFF))
    if req == T.TIOCSTI:
        if jobctl.ctty_of(k, p) is not tty and p.creds.euid != 0:
            return -EPERM
        tty.input(_get(t, arg, 1), limit=None)
        return 0
    # -- sessions and job control -------------------------------------------------------------
    if req == T.TIOCSCTTY:
        return _sctty(t, f, tty, arg)
    if req == T.TIOCNOTTY:
        if master or jobctl.ctty_of(k, p) is not tty:
            return -ENOTTY
        if p.sid == p.pid:
            pgrp = tty.pgrp
            jobctl.clear_session(k, tty)
            jobctl.signal_pgrp(k, pgrp, S.SIGHUP)
            jobctl.signal_pgrp(k, pgrp, S.SIGCONT)
        else:
            p.ctty_dropped = True
        return 0
    if req == T.TIOCGPGRP:
        if not master and jobctl.ctty_of(k, p) is not tty:
            return -ENOTTY
        return _put(t, arg, struct.pack("<i", tty.pgrp or 0))
    if req == T.TIOCGSID:
        if not master and jobctl.ctty_of(k, p) is not tty:
            return -ENOTTY
        if not tty.session:
            return -ENOTTY
        return _put(t, arg, struct.pack("<i", tty.session))
    if req == T.TIOCSPGRP:
        r = jobctl.check_change(t, tty, S.SIGTTOU)
        if r is None:
            return None
        if r == -EIO:
            return -ENOTTY
        pgid = _int(t, arg)
        if pgid < 0:
            return -EINVAL
        if jobctl.ctty_of(k, p) is not tty or tty.session != p.sid:
            return -ENOTTY
        where = jobctl.pgrp_exists_in_session(k, pgid, p.sid)
        if where is None:
            return -ESRCH
        if not where:
            return -EPERM
        tty.pgrp = pgid
        return 0
    if req == T.TIOCVHANGUP:
        if p.creds.euid != 0:
            return -EPERM
        tty.hangup()
        return 0
    return -ENOTTY


def _sctty(t, f, tty, arg):
    """tiocsctty: a session leader without a terminal takes this one."""
    k = t.kernel
    p = t.process
    if p.sid == p.pid and tty.session == p.sid:
        return 0
    if p.sid != p.pid or jobctl.ctty_of(k, p) is not None:
        return -EPERM
    if tty.session is not None:
        if (arg & 0xFFFFFFFF) == 1 and p.creds.euid == 0:
            jobctl.clear_session(k, tty)            # steal it
        else:
            return -EPERM
    if not f.readable and p.creds.euid != 0:
        return -EPERM
    jobctl.set_ctty(k, p, tty)
    return 0

