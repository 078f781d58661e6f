"""The kernel's SSH server on a booted test image: login latency (connect to
the first shell prompt output of `ssh host true`) and the wall time of 64
parallel `ssh host true`."""
import concurrent.futures
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from sshguest import BootedSystem  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client")


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    booted = BootedSystem(tmp_path_factory.mktemp("benchsshkernel"))
    yield booted
    booted.stop()


def test_login_latency(benchmark, system):
    def login():
        got = system.ssh("true")
        assert got.returncode == 0, got.stderr
    benchmark.pedantic(login, rounds=10, iterations=1)


def test_64_parallel_ssh_true(benchmark, system):
    def wave():
        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            results = list(pool.map(lambda _: system.ssh("true", timeout=300), range(64)))
        failed = [r.stderr for r in results if r.returncode != 0]
        assert not failed, failed[:3]
    benchmark.pedantic(wave, rounds=1, iterations=1)
