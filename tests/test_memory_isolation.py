"""Isolation: a second process aims every pointer-taking syscall at the
address where another process keeps a secret; it gets EFAULT (or ENOSYS /
ENOENT where the call or file does not exist) or its own memory."""


def test_no_syscall_reaches_another_process_memory(guest, akuma):
    got = akuma("run", guest("mm_isolation"))
    out = got.stdout.decode()
    assert got.returncode == 0, got.stderr
    assert "LEAK" not in out
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    for what in ("write from it", "pwrite from it", "pread into it", "writev from it",
                 "read into it", "readv into it", "open path at it", "stat path at it",
                 "getcwd into it", "uname into it", "clock_gettime into it",
                 "getrandom into it"):
        assert lines[what] == "Bad address", (what, lines[what])
    for what in ("process_vm_readv", "ptrace attach", "/proc/pid/mem"):
        assert lines[what] in ("Bad address", "Function not implemented",
                               "No such file or directory", "Permission denied",
                               "Operation not permitted"), (what, lines[what])
    assert lines["own map at it"] == lines["write from own map"] == "ok, no secret"
    assert lines["secret intact"] == "1"
    assert out.rstrip().splitlines()[-2] == "isolated"
