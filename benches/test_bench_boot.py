"""Booting the system image, and shell start-up, side by side with
qemu-aarch64-static where the same binary runs there (a static busybox);
qemu-user cannot boot an image or exec another AArch64 program without
binfmt_misc, so those rows are akuma's alone."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import debroot  # noqa: E402
import sysimage  # noqa: E402
from workloads import guestlib  # noqa: E402

AKUMA = [sys.executable, "-m", "akuma.cli.main"]
ENV = {"PATH": "/usr/bin:/bin", "TERM": "dumb"}


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return sysimage.fresh_copy(tmp_path_factory.mktemp("boot") / "bench.img")


@pytest.fixture(scope="module")
def busybox():
    try:
        return str(debroot.sysroot() / "bin" / "busybox")
    except debroot.Unavailable as e:
        pytest.skip(f"Debian arm64 packages unavailable: {e}")


def _boot_to_prompt(image):
    """Boot, wait for the console shell to answer, then `poweroff -f`
    (straight to reboot(2), without init's shutdown pauses)."""
    p = subprocess.Popen(AKUMA + ["-q", "--image", image], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV)
    p.stdin.write(b"echo READY\n")
    p.stdin.flush()
    seen = b""
    while b"READY\n" not in seen:
        chunk = p.stdout.read1(4096)
        if not chunk:
            break
        seen += chunk
    p.stdin.write(b"poweroff -f\n")
    p.stdin.close()
    p.stdout.read()
    return p.wait(timeout=60) if b"READY\n" in seen else -1


def test_boot_to_prompt(benchmark, image):
    benchmark.group = "boot to prompt (cached image)"
    benchmark.extra_info["runner"] = "akuma"
    assert benchmark.pedantic(_boot_to_prompt, args=(image,), rounds=3, iterations=1) == 0


@pytest.mark.parametrize("runner", ["akuma", "qemu"])
def test_busybox_sh_exit(benchmark, busybox, runner):
    if runner == "qemu" and not guestlib.qemu_path():
        pytest.skip("qemu-aarch64-static is not installed")
    cmd = (AKUMA + ["run", "--", busybox] if runner == "akuma"
           else [guestlib.qemu_path(), busybox]) + ["sh", "-c", "exit"]
    benchmark.group = "busybox sh -c exit"
    benchmark.extra_info["runner"] = runner

    def run():
        return subprocess.run(cmd, env=ENV, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    assert benchmark.pedantic(run, rounds=5, iterations=1) == 0


def test_true_loop_200(benchmark, image):
    cmd = AKUMA + ["-q", "--image", image, "-c", "for i in $(seq 200); do /bin/true; done"]
    benchmark.group = "for i in $(seq 200); do /bin/true; done"
    benchmark.extra_info["runner"] = "akuma"

    def run():
        return subprocess.run(cmd, env=ENV, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    assert benchmark.pedantic(run, rounds=3, iterations=1) == 0
