"""Pseudo-terminals, the line discipline and job control: the pty_basic and
tty_jobctl guest programs under akuma, compared line by line with
qemu-aarch64-static (which passes pty ioctls to the host kernel)."""
from harness import test_env as _env

# Lines where qemu-user, not Linux, is the odd one out: it does not
# translate TIOCGPTLCK or TIOCGSID (the call fails) and answers unknown
# ioctls with ENOSYS where Linux says ENOTTY.  Linux's answers:
LINUX_ONLY = {
    "pty_basic": ["locked=1", "locked=0", "  bad ioctl=-1 errno=Not a tty"],
    "tty_jobctl": ["TIOCGSID via /dev/tty=1"],
}
QEMU_ODD = ("locked=", "  bad ioctl=", "TIOCGSID via")


def _compare(name, guest, qemu, akuma):
    exe = guest(name)
    got = akuma("run", exe)
    assert got.returncode == 0, got.stderr
    lines = got.stdout.decode().splitlines()
    assert lines[-1] == "done", lines
    for want in LINUX_ONLY[name]:
        assert want in lines, want
    assert "ttyname matches=0" not in lines         # musl's ttyname reads /proc/self/fd
    ref = qemu(exe, env=_env())
    assert ref.returncode == 0, ref.stderr
    keep = lambda ls: [x for x in ls if not x.startswith(QEMU_ODD)]  # noqa: E731
    assert keep(lines) == keep(ref.stdout.decode().splitlines())
    return lines


def test_pty_line_discipline(guest, qemu, akuma):
    lines = _compare("pty_basic", guest, qemu, akuma)
    for want in ('  read n=3 "ac\\x0a"', '  echo n=8 "ab\\x08 \\x08c\\x0d\\x0a"',
                 '  read n=8 "foo baz\\x0a"', '  read n=0 ""', "vmin0 vtime2=0 waited=1",
                 '  vmin5 vtime2 n=2 "de"', '  onlcr n=8 "x\\x0d\\x0ay\\x09z\\x0d\\x0a"',
                 "  slave sees 30x100", "  master after slave close=-1 errno=I/O error",
                 "  slave write after master close=-1 errno=I/O error"):
        assert want in lines, want


def test_pty_job_control(guest, qemu, akuma):
    lines = _compare("tty_jobctl", guest, qemu, akuma)
    for want in ("bg read: stopped by 21", "bg read=1 c=k",
                 "bg read ignoring SIGTTIN=-1 errno=I/O error", "bg write TOSTOP: stopped by 22",
                 "bg tcsetattr: stopped by 22", "key 3: killed by 2", "key 26: stopped by 20",
                 "key 28: killed by 3", "SIGWINCH=1"):
        assert want in lines, want
