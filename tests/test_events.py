"""eventfd2, timerfd_*, signalfd4 and epoll_*: the `events` guest program
under akuma, compared line by line with qemu-aarch64-static (which passes
these calls to the host Linux kernel)."""
from harness import test_env as _env

# qemu-user may not know epoll_pwait2 (Linux 5.11); Linux's answer:
PWAIT2 = "pwait2 n=0 waited>=15ms=1"


def _lines(cp):
    return cp.stdout.decode().splitlines()


def test_eventfd_timerfd_signalfd_epoll(guest, qemu, akuma):
    exe = guest("events")
    got = akuma("run", exe)
    assert got.returncode == 0, got.stderr
    lines = _lines(got)
    assert PWAIT2 in lines
    assert lines[-1] == "done"
    for expected in ("eventfd sum=7", "eventfd overflow=-11", "sem read 2: -11 v=0",
                     "signalfd small=-22", "  signo=35 code=-1 pid_ok=1 int=1234",
                     "ctl regular=-1", "et 2 n=0", "et again n=1 [3:0x1]",
                     "oneshot 2 n=0", "child n=1 [5:0x1]", "hup n=1 [5:0x10]"):
        assert expected in lines, expected
    ref = qemu(exe, env=_env())
    assert ref.returncode == 0, ref.stderr
    assert [x for x in lines if not x.startswith("pwait2")] == \
        [x for x in _lines(ref) if not x.startswith("pwait2")]


def test_select_and_pselect6(guest, qemu, akuma):
    exe = guest("select")
    got = akuma("run", exe)
    assert got.returncode == 0, got.stderr
    ref = qemu(exe, env=_env())
    # The time left after a 50 ms timeout is 0 on both; everything else is exact.
    assert got.stdout == ref.stdout
    assert b"timeout: n=0 r=0 left=0.000000000" in got.stdout
    assert b"closed fd: n=-1 errno=9" in got.stdout
    assert b"pselect with mask: n=-1 errno=4 handled=1" in got.stdout
