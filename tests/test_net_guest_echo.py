"""Guest programs doing TCP and UDP over the kernel's own loopback, checked
against qemu-aarch64-static (which uses the host's stack)."""
import pytest

from harness import exit_code, test_env as _env

CASES = [("tcp", "1048576"), ("udp",), ("nb",)]


@pytest.mark.parametrize("args", CASES, ids=["-".join(c) for c in CASES])
def test_net_echo_matches_qemu(guest, qemu, akuma, args):
    exe = guest("net_echo")
    ref = qemu(exe, *args, env=_env())
    got = akuma("run", exe, *args)
    assert b"Traceback" not in got.stderr
    assert got.stdout == ref.stdout, got.stderr
    assert exit_code(got) == exit_code(ref) == 0


def test_blocking_stream_sends_take_every_byte(guest, qemu, akuma):
    """write/writev/send on AF_UNIX and TCP stream sockets larger than the
    buffers return the whole length (they used to return what fit), and a
    signal after part of a send returns the part."""
    exe = guest("sock_bigwrite")
    ref = qemu(exe, env=_env())
    got = akuma("run", exe)
    assert b"Traceback" not in got.stderr
    assert got.stdout == ref.stdout, got.stderr
    lines = got.stdout.decode().splitlines()
    for kind in ("unix", "tcp"):
        assert f"{kind} write: ret=4194304 writev: ret=400005 send: ret=2097152" in lines
        assert f"{kind} interrupted send (SA_RESTART): partial=1 errno=0" in lines
