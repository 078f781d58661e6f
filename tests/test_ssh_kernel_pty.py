"""An interactive PTY session with the OpenSSH client through pexpect: the
login shell's prompt, a command, ^C interrupting `sleep 100`, a window
change seen by `stty size`, exit."""
import shutil

import pytest

from sshguest import BootedSystem

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client")


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    booted = BootedSystem(tmp_path_factory.mktemp("sshpty"))
    yield booted
    booted.stop()


def test_interactive_pty_session(system):
    args = system.ssh_args("user", None, "-tt")
    child = pexpect.spawn(args[0], args[1:], timeout=60, dimensions=(24, 80))
    try:
        child.expect_exact("user@akuma:/home/user$ ")
        child.sendline("tty; echo $TERM; id -u")
        child.expect(r"/dev/pts/\d+\r\n")
        child.expect_exact("1000\r\n")
        child.sendline("stty size")
        child.expect_exact("24 80\r\n")
        child.setwinsize(40, 132)          # SIGWINCH to ssh -> window-change -> TIOCSWINSZ
        child.sendline("stty size")
        child.expect_exact("40 132\r\n")
        child.sendline("sleep 100")
        child.expect_exact("sleep 100\r\n")
        child.sendintr()                   # ^C through the pty's line discipline
        child.expect_exact("user@akuma:/home/user$ ", timeout=30)
        child.sendline("echo sleep-status $?")
        child.expect_exact("sleep-status 130\r\n")
        child.sendline("exit 4")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 4
