"""The console: `akuma run` in a real pty (pexpect) with busybox sh from
Debian.  The guest's line discipline echoes and edits, ^C interrupts a
sleep and CPU loops, ^Z stops a job that `fg` resumes, the window size
follows the host, the exit status comes back, and the host terminal's
settings (`stty -g`) are the same afterwards — also when akuma is killed
with SIGTERM or SIGKILL."""
import os
import sys
import time

import pytest

import debroot
from harness import AKUMA

pexpect = pytest.importorskip("pexpect")
PROMPT = "akuma# "


@pytest.fixture(scope="module")
def root():
    try:
        return debroot.sysroot()
    except debroot.Unavailable as e:
        pytest.skip(f"Debian arm64 packages unavailable: {e}")


def _akuma_cmd(root, *guest):
    return AKUMA + ["run", "-v", f"{root}:/", "-e", "PATH=/bin", "-e", f"PS1={PROMPT}", "--",
                    *guest]


def _wrapped(root, *guest):
    """sh prints the host terminal's settings before and after akuma."""
    cmd = " ".join(f"'{a}'" for a in _akuma_cmd(root, *guest))
    script = f'echo "before=$(stty -g)"; {cmd}; echo "status=$?"; sleep 0.3; ' \
             f'echo "after=$(stty -g)"'
    return pexpect.spawn("/bin/sh", ["-c", script], timeout=30, dimensions=(24, 80),
                         env=dict(os.environ, PYTHONUNBUFFERED="1"))


def _settings(child):
    child.expect(r"before=(\S+)")
    return child.match.group(1)


def _finish(child, before, status):
    child.expect(r"status=(\d+)")
    assert int(child.match.group(1)) == status
    child.expect(r"after=(\S+)")
    assert child.match.group(1) == before
    child.expect(pexpect.EOF)


def _akuma_pid(sh_pid):
    """The akuma process: the child of the wrapping sh."""
    for _ in range(100):
        try:
            with open(f"/proc/{sh_pid}/task/{sh_pid}/children") as f:
                kids = f.read().split()
        except OSError:
            kids = []
        if kids:
            return int(kids[0])
        time.sleep(0.05)
    raise AssertionError("akuma did not start")


def test_console_shell_session(root):
    child = _wrapped(root, "/bin/busybox", "sh")
    before = _settings(child)
    child.expect(PROMPT)
    child.sendline("echo hel''lo $((6*7))")
    child.expect("hello 42")
    child.expect(PROMPT)
    # Line editing: backspace erases before the shell sees the line.
    child.send("echo abcx\x7fd\r")
    child.expect("abcd")
    child.expect(PROMPT)
    # ^C interrupts a sleeping child, a CPU-bound child and a CPU-bound loop
    # in the shell itself.
    for cmd in ("sleep 100", "busybox sh -c 'while :; do :; done'", "while :; do :; done"):
        child.sendline(cmd)
        time.sleep(1)
        child.sendcontrol("c")
        child.expect(PROMPT)
        child.sendline("echo rc=$?")
        child.expect(r"rc=(\d+)")
        assert int(child.match.group(1)) in (130, 1), cmd      # ash's loop: 130 or 1
        child.expect(PROMPT)
    # ^Z stops the job, `fg` resumes it, ^C ends it.
    child.sendline("sleep 100; echo after-sleep")
    time.sleep(1)
    child.sendcontrol("z")
    child.expect("Stopped")
    child.expect(PROMPT)
    child.sendline("jobs")
    child.expect(r"\[1\]\+\s+Stopped")
    child.expect(PROMPT)
    child.sendline("fg")
    child.expect("sleep 100")
    time.sleep(0.5)
    child.sendcontrol("c")
    child.expect(PROMPT)
    # The window size follows the host terminal (SIGWINCH -> TIOCSWINSZ).
    child.sendline("stty size")
    child.expect("24 80")
    child.expect(PROMPT)
    child.setwinsize(30, 100)
    time.sleep(0.3)
    child.sendline("stty size")
    child.expect("30 100")
    child.expect(PROMPT)
    child.sendline("tty")
    child.expect("/dev/console")
    child.expect(PROMPT)
    child.sendline("exit 7")
    _finish(child, before, 7)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_console_restored_after_kill(root, how):
    import signal
    child = _wrapped(root, "/bin/busybox", "sleep", "100")
    before = _settings(child)
    pid = _akuma_pid(child.pid)
    time.sleep(1.5)           # raw mode is on
    os.kill(pid, getattr(signal, how))
    # SIGTERM goes to the guest (sleep dies of it: 128+15); SIGKILL takes
    # akuma down and the watcher process restores the terminal.
    _finish(child, before, 143 if how == "SIGTERM" else 137)


def test_console_not_used_without_terminal(root):
    """stdin not a terminal: host fds are passed through as before."""
    import subprocess
    cp = subprocess.run(_akuma_cmd(root, "/bin/busybox", "sh", "-c", "tty; echo x"),
                        stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert cp.stdout == b"not a tty\nx\n", cp.stderr
    assert cp.returncode == 0


if sys.platform != "linux":
    pytest.skip("needs Linux ptys", allow_module_level=True)
