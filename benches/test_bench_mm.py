"""Memory benchmarks, akuma and qemu-aarch64-static on the same binary in one
run (tests/guest/mm_bench.c times only its measured phase, so start-up
is excluded).  Figures go to extra_info and to stdout (pytest -s):

    demand-zero fault over 256 MiB   us/page   budget <= 1.5 (warm host RAM)
    COW fork of 64 MiB, child writes one page  ms/fork   (report)
    random 8-byte access over 64 MiB us/access budget <= 3x qemu
    read(2) of a 64 MiB tmpfs file   GB/s      budget >= 1"""
import subprocess

import pytest

from workloads import AKUMA, ENV, guestlib

# name: (argv, units in the output, scale to the reported unit, unit label)
CASES = {
    "demand-zero fault, 256 MiB (cold host RAM)": (("fault", "256", "1"), 1e-3, "us/page"),
    "demand-zero fault, 256 MiB (warm host RAM)": (("fault", "256", "2"), 1e-3, "us/page"),
    "COW fork of 64 MiB, child touches 1 page": (("cowfork", "64", "50"), 1e-6, "ms/fork"),
    "random access over 64 MiB": (("random", "64", "20000000"), 1e-3, "us/access"),
    "read(2) of a 64 MiB tmpfs file": (("readfile", "64", "10"), None, "GB/s"),
}


def _measure(runner, args):
    exe = str(guestlib.build("mm_bench"))
    cmd = (AKUMA if runner == "akuma" else [guestlib.qemu_path()]) + [exe, *args]
    out = subprocess.run(cmd, env=ENV, capture_output=True, stdin=subprocess.DEVNULL,
                         check=True, timeout=600).stdout.decode().split()
    ns, units = int(out[1]), int(out[3])
    return ns, units


@pytest.mark.parametrize("name", list(CASES))
def test_mm_bench(benchmark, name):
    if not guestlib.qemu_path():
        pytest.skip("qemu-aarch64-static is not installed")
    args, scale, label = CASES[name]
    figures = {}
    for runner in ("akuma", "qemu"):
        ns, units = _measure(runner, args)
        # GB/s for the copy; time per unit otherwise.
        figures[runner] = units * (1 << 20) / ns if scale is None else ns * scale / units
    benchmark.group = "mm"
    benchmark.extra_info.update(figures, unit=label)
    ratio = figures["akuma"] / figures["qemu"]
    benchmark.extra_info["akuma/qemu"] = ratio
    print(f"\n{name:44s} akuma {figures['akuma']:10.3f} {label:9s} "
          f"qemu {figures['qemu']:10.3f}  akuma/qemu {ratio:6.2f}")
    # The pytest-benchmark timing is of one akuma run (whole process).
    benchmark.pedantic(_measure, args=("akuma", args), rounds=1, iterations=1)
