"""In-process kernel paths: the syscall round trip through the Cython hook
and Python dispatch, and demand-zero faults, without process start-up."""
import os

import pytest

from workloads import guestlib
from akuma.kernel import Kernel, wait_status_to_exit_code
from akuma.cli.rootfs import minimal_root
from akuma.vfs import HostStream


def _kernel_running(prog, *args):
    exe = str(guestlib.build(prog))
    d = os.path.dirname(exe)
    vfs, _ = minimal_root([(d, d, True)], exe=lambda: b"")
    null = os.open(os.devnull, os.O_RDWR)
    files = [HostStream(os.dup(null), b"/dev/null") for _ in range(3)]
    os.close(null)
    k = Kernel(vfs, mem=1 << 30)
    proc = k.spawn(exe.encode(), [exe.encode(), *[a.encode() for a in args]], [],
                   files=files)
    return k, proc


@pytest.mark.parametrize("calls", [200_000])
def test_getppid_round_trip(benchmark, calls):
    def run():
        k, proc = _kernel_running("getppid_loop", str(calls))
        return wait_status_to_exit_code(k.run(until=proc))
    assert benchmark.pedantic(run, rounds=3, iterations=1) == 0
    benchmark.extra_info["calls"] = calls


def test_malloc_demand_zero(benchmark):
    def run():
        k, proc = _kernel_running("malloc")
        return wait_status_to_exit_code(k.run(until=proc))
    assert benchmark.pedantic(run, rounds=2, iterations=1) == 0
