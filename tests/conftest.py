"""Fixtures for the integration tests: guest programs built with zig, and
runners for akuma and qemu-aarch64-static."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import guestlib  # noqa: E402

AKUMA = [sys.executable, "-m", "akuma.cli.main"]


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


def run_akuma(*args, env=None, input=None, timeout=120, cwd=None):
    """Run `akuma ARGS...` as a user would; returns CompletedProcess (bytes)."""
    return subprocess.run(AKUMA + list(args), env=env if env is not None else _env(),
                          input=input, stdin=None if input is not None else subprocess.DEVNULL,
                          capture_output=True, timeout=timeout, cwd=cwd)


def _env(**extra):
    env = {"PATH": "/usr/bin:/bin"}
    env.update({k: v for k, v in os.environ.items() if k.startswith(("PYTHON", "VIRTUAL_ENV"))})
    env.update(extra)
    return env


@pytest.fixture
def akuma():
    return run_akuma


def exit_code(cp):
    """Shell-style status of a CompletedProcess (qemu's signal deaths are
    negative returncodes; akuma already reports 128+N)."""
    return 128 - cp.returncode if cp.returncode < 0 else cp.returncode
