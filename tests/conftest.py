"""Fixtures for the integration tests: guest programs built with zig, and
runners for akuma and qemu-aarch64-static."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import guestlib  # noqa: E402
from harness import run_akuma  # noqa: E402


@pytest.fixture(scope="session")
def guest():
    """guest(name, pie=False) -> path of the compiled guest program."""
    if not guestlib.zig_available():
        pytest.skip("ziglang is not installed (pip install ziglang)")
    return lambda name, pie=False: str(guestlib.build(name, pie=pie))


@pytest.fixture(scope="session")
def qemu():
    """qemu(binary, *args, env=..., timeout=...) -> CompletedProcess; skips
    the test when qemu-aarch64-static is missing."""
    if not guestlib.qemu_path():
        pytest.skip("qemu-aarch64-static is not installed (apt-get install qemu-user-static)")

    def run(binary, *args, env=None, input=None, timeout=120):
        return guestlib.run_qemu(binary, args, env=env, input=input, timeout=timeout)
    return run


@pytest.fixture
def akuma():
    return run_akuma
