"""Password auth of the kernel's SSH server: off by default (only publickey
is offered, a right password is refused); with `akuma --ssh-password-auth`
checked against the image's /etc/shadow (a sha512-crypt hash put there
with `akuma -c` before the boot)."""
import asyncio
import shutil
import subprocess

import pytest

from akuma.ssh import passhash
from harness import run_akuma
from sshguest import BootedSystem

asyncssh = pytest.importorskip("asyncssh")
pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client")

PASSWORD = "s3cret pw-Ä"


def set_password(image):
    hashed = passhash.hash_password(PASSWORD, "sha512")
    assert hashed.startswith("$6$")
    got = run_akuma("--image", image, "-q", "-c",
                    f"sed -i 's|^user:[^:]*:|user:{hashed}:|' /etc/shadow && "
                    "grep -c '^user:\\$6\\$' /etc/shadow")
    assert got.stdout.endswith(b"1\n"), got.stderr


@pytest.fixture(scope="module", params=["on", "off"])
def system(request, tmp_path_factory):
    flag = ["--ssh-password-auth"] if request.param == "on" else []
    booted = BootedSystem(tmp_path_factory.mktemp(f"sshpw-{request.param}"), extra_args=flag,
                          prepare=set_password)
    booted.password_auth = request.param == "on"
    yield booted
    booted.stop()


def _login(system, user, password):
    async def go():
        async with asyncssh.connect("127.0.0.1", system.port, username=user, password=password,
                                    known_hosts=None, client_keys=None, agent_path=None,
                                    preferred_auth="password") as conn:
            r = await conn.run("id -un; echo $HOME", check=False)
            return r.exit_status, r.stdout
    return asyncio.run(asyncio.wait_for(go(), 120))


def test_offered_methods(system):
    got = subprocess.run(system.ssh_args("user", None, "-o", "PubkeyAuthentication=no") + ["true"],
                         capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert got.returncode == 255
    expected = b"(publickey,password)" if system.password_auth else b"(publickey)"
    assert b"Permission denied " + expected in got.stderr, got.stderr


def test_right_password(system):
    if system.password_auth:
        assert _login(system, "user", PASSWORD) == (0, "user\n/home/user\n")
    else:
        with pytest.raises(asyncssh.PermissionDenied):
            _login(system, "user", PASSWORD)


def test_wrong_password_and_locked_account_are_refused(system):
    for user, password in [("user", PASSWORD + "x"), ("user", ""), ("root", PASSWORD),
                           ("root", ""), ("nosuchuser", PASSWORD)]:
        with pytest.raises(asyncssh.PermissionDenied):
            _login(system, user, password)
    # keys still work beside passwords
    assert system.ssh("echo key-ok").stdout == b"key-ok\n"
