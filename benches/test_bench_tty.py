"""Keystroke-to-echo latency through the console: a byte typed into the
host terminal (a pty here) until its echo comes back.  Under akuma the echo
is the guest's own line discipline (host terminal raw -> console wake fd ->
ldisc -> writer thread); under qemu-aarch64-static it is the host kernel's
n_tty, so the qemu row is the floor a real terminal gives.  The guest program
is `busybox cat` waiting on the terminal in both."""
import os
import pty
import select
import subprocess
import sys
import termios
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import debroot  # noqa: E402
from workloads import guestlib  # noqa: E402

AKUMA = [sys.executable, "-m", "akuma.cli.main", "run", "--"]
KEYS = 200


@pytest.fixture(scope="module")
def busybox():
    try:
        return str(debroot.sysroot() / "bin" / "busybox")
    except debroot.Unavailable as e:
        pytest.skip(f"Debian arm64 packages unavailable: {e}")


def _read_until(fd, want, timeout=10.0):
    got = b""
    deadline = time.monotonic() + timeout
    while want not in got:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no echo of {want!r}; got {got!r}")
        got += os.read(fd, 4096)
    return got


def _wait_raw(master, timeout=30.0):
    """akuma's console makes the host terminal raw (flushing what was typed
    before): type only after that."""
    deadline = time.monotonic() + timeout
    while termios.tcgetattr(master)[3] & termios.ECHO:
        if time.monotonic() > deadline:
            raise AssertionError("the console never took the terminal")
        time.sleep(0.01)


def _echo_latency(cmd, console):
    """Mean seconds from a keystroke to its echo, over KEYS keystrokes."""
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        if console:
            _wait_raw(master)
        # Wait until cat runs: a line typed now comes back from cat itself.
        os.write(master, b"ready\r")
        _read_until(master, b"ready\r\nready")
        total = 0.0
        for i in range(KEYS):
            key = b"abcdefghij"[i % 10:i % 10 + 1]
            t0 = time.perf_counter()
            os.write(master, key)
            _read_until(master, key)
            total += time.perf_counter() - t0
        os.write(master, b"\r\x04")
        p.wait(30)
        return total / KEYS
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)


@pytest.mark.parametrize("runner", ["akuma", "qemu"])
def test_keystroke_to_echo(benchmark, busybox, runner):
    if runner == "qemu" and not guestlib.qemu_path():
        pytest.skip("qemu-aarch64-static is not installed")
    prefix = AKUMA if runner == "akuma" else [guestlib.qemu_path()]
    benchmark.group = "keystroke to echo"
    benchmark.extra_info["runner"] = runner
    latency = benchmark.pedantic(lambda: _echo_latency(prefix + [busybox, "cat"],
                                                               runner == "akuma"),
                                 rounds=1, iterations=1)
    benchmark.extra_info["mean_echo_us"] = round(latency * 1e6, 1)
    print(f"\n{runner}: keystroke to echo {latency * 1e6:.1f} us")
    assert latency > 0
