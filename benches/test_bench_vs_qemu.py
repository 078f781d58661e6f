"""The same guest binaries under akuma and qemu-aarch64-static, grouped per
workload so pytest-benchmark prints them side by side (compare.py prints the
ratios)."""
import subprocess

import pytest

from workloads import WORKLOADS, AKUMA_ONLY, ENV, command, guestlib


@pytest.mark.parametrize("runner", ["akuma", "qemu"])
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_workload(benchmark, runner, name):
    if runner == "qemu" and not guestlib.qemu_path():
        pytest.skip("qemu-aarch64-static is not installed")
    if runner == "qemu" and name in AKUMA_ONLY:
        pytest.skip("qemu-user cannot exec another AArch64 program without binfmt_misc")
    cmd = command(runner, name)
    benchmark.group = name
    benchmark.extra_info["runner"] = runner

    def run():
        return subprocess.run(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL).returncode
    assert benchmark.pedantic(run, rounds=3, iterations=1) == 0
