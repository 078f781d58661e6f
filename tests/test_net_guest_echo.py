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
