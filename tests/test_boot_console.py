"""A booted image on a real terminal (pexpect), as a user meets it: the
prompt, a command, ^C on `sleep 100`, ^Z and `fg`, vim-tiny editing a file
in raw mode, then `poweroff` ending akuma with status 0; the image is
e2fsck-clean and the file is there on the next boot.  Ctrl+A X ends a
session the same way."""
import os
import shutil
import subprocess
import time

import pytest

import sysimage
from harness import AKUMA

pexpect = pytest.importorskip("pexpect")
PROMPT = "akuma:/root# "


@pytest.fixture
def image(tmp_path):
    return sysimage.fresh_copy(tmp_path / "root.img")


def _boot(image):
    return pexpect.spawn(AKUMA[0], AKUMA[1:] + ["-q", "--image", image], timeout=60,
                         dimensions=(24, 80), env=dict(os.environ, TERM="xterm"))


def _run(child, line, expect):
    child.sendline(line)
    child.expect(expect)
    child.expect_exact(PROMPT)


def _running(child):
    """Give the shell time to start the job: a key typed before the fork
    reaches the shell's own process group instead (as on any terminal)."""
    child.expect("sleep 100")
    time.sleep(0.5)


def _fsck(image):
    if shutil.which("e2fsck"):
        cp = subprocess.run(["e2fsck", "-fn", image], capture_output=True, text=True)
        assert cp.returncode == 0, cp.stdout


def test_console_session_on_a_booted_image(image):
    child = _boot(image)
    child.expect_exact(PROMPT)
    _run(child, "ls /bin | wc -l", r"\d{3}")
    _run(child, "tty", "/dev/console")
    # ^C reaches the foreground job through the guest's line discipline.
    child.sendline("sleep 100")
    _running(child)
    child.sendcontrol("c")
    child.expect_exact(PROMPT)
    _run(child, "echo rc=$?", "rc=130")
    # Job control: ^Z stops the job, fg resumes it, ^C ends it.
    child.sendline("sleep 100")
    _running(child)
    child.sendcontrol("z")
    child.expect("Stopped")
    child.expect_exact(PROMPT)
    child.sendline("fg")
    _running(child)
    child.sendcontrol("c")
    child.expect_exact(PROMPT)
    # vim-tiny (Debian's, dynamic glibc) in raw mode: insert, escape, write, quit.
    child.sendline("vi /root/note.txt")
    child.expect("note.txt")
    child.send("ihello from vi")
    child.expect(r"hello from vi")
    child.send("\x1b")
    time.sleep(0.5)                         # vim tells a lone ESC from a key sequence by time
    child.send(":wq\r")
    child.expect_exact(PROMPT)
    _run(child, "cat /root/note.txt", "hello from vi")
    child.sendline("poweroff")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 0
    _fsck(image)
    # The next boot sees the file.
    cp = subprocess.run(AKUMA + ["-q", "--image", image, "-c", "cat /root/note.txt"],
                        capture_output=True, timeout=120)
    assert cp.stdout == b"hello from vi\n", cp.stderr


def test_ctrl_a_x_ends_the_session_with_disks_flushed(image):
    child = _boot(image)
    child.expect_exact(PROMPT)
    child.sendline("echo kept > /root/kept.txt")
    child.expect_exact(PROMPT)
    child.send("\x01x")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 0
    _fsck(image)
    cp = subprocess.run(AKUMA + ["-q", "--image", image, "-c", "cat /root/kept.txt"],
                        capture_output=True, timeout=120)
    assert cp.stdout == b"kept\n", cp.stderr


@pytest.mark.parametrize("how", ["SIGTERM", "hangup"])
def test_sigterm_or_hangup_stops_the_machine_cleanly(image, how):
    # QEMU ends when its terminal goes away or on SIGTERM; akuma does too,
    # after flushing the disks (no machine left running in the background).
    child = _boot(image)
    child.expect_exact(PROMPT)
    child.sendline("echo written > /root/late.txt")
    child.expect_exact(PROMPT)
    if how == "SIGTERM":
        child.kill(15)
        child.expect(pexpect.EOF, timeout=30)
    else:
        child.close(force=False)            # the host terminal goes away: SIGHUP
    for _ in range(300):
        if not child.isalive():
            break
        time.sleep(0.1)
    assert not child.isalive()
    if how == "SIGTERM":
        child.close()
        assert child.exitstatus == 128 + 15
    _fsck(image)
    cp = subprocess.run(AKUMA + ["-q", "--image", image, "-c", "cat /root/late.txt"],
                        capture_output=True, timeout=120)
    assert cp.stdout == b"written\n", cp.stderr
