"""Helpers shared by the integration tests: running `akuma` as a user does,
and comparing exit statuses with qemu's."""
import os
import subprocess
import sys

AKUMA = [sys.executable, "-m", "akuma.cli.main"]


def run_akuma(*args, env=None, input=None, timeout=120, cwd=None):
    """Run `akuma ARGS...`; returns CompletedProcess (bytes)."""
    return subprocess.run(AKUMA + list(args), env=env if env is not None else test_env(),
                          input=input, stdin=None if input is not None else subprocess.DEVNULL,
                          capture_output=True, timeout=timeout, cwd=cwd)


def test_env(**extra):
    """A small, fixed environment for guest programs (both runners)."""
    env = {"PATH": "/usr/bin:/bin"}
    env.update({k: v for k, v in os.environ.items() if k.startswith(("PYTHON", "VIRTUAL_ENV"))})
    env.update(extra)
    return env


test_env.__test__ = False


def exit_code(cp):
    """Shell-style status of a CompletedProcess (qemu's signal deaths are
    negative returncodes; akuma already reports 128+N)."""
    return 128 - cp.returncode if cp.returncode < 0 else cp.returncode
