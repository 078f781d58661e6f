"""Network benchmarks, akuma vs qemu-aarch64-static (which uses the host's
kernel stack) in the same run: guest loopback TCP throughput, loopback
connections per second, host->guest throughput through a port forward, and
the Cython checksum's throughput.  Small sizes by default; AKUMA_BENCH_FULL=1
for the full ones.  Figures are printed and kept in extra_info."""
import os
import socket
import subprocess
import time

import pytest

from workloads import AKUMA, ENV, guestlib

FULL = os.environ.get("AKUMA_BENCH_FULL") == "1"
STREAM_BYTES = (1 << 30) if FULL else (64 << 20)
CONNECTS = 5000 if FULL else 500
FORWARD_BYTES = (256 << 20) if FULL else (32 << 20)


def _cmd(runner, *args):
    exe = str(guestlib.build("net_peer"))
    if runner == "akuma":
        return AKUMA + [exe, *args]
    if not guestlib.qemu_path():
        pytest.skip("qemu-aarch64-static is not installed")
    return [guestlib.qemu_path(), exe, *args]


def _timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, env=ENV, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def _net_time(runner, *args):
    """Seconds of the workload itself: the run minus the same program doing none."""
    zero = ("connects", "0")
    return _timed(_cmd(runner, *args)) - min(_timed(_cmd(runner, *zero)) for _ in range(2))


def _report(benchmark, label, akuma, qemu, unit):
    benchmark.extra_info.update(akuma=round(akuma, 1), qemu=round(qemu, 1), unit=unit,
                                ratio=round(akuma / qemu, 3))
    print(f"\n{label}: akuma {akuma:.1f} {unit}, qemu {qemu:.1f} {unit}, "
          f"akuma/qemu {akuma / qemu:.3f}")


def test_loopback_tcp_throughput(benchmark):
    run = lambda r: STREAM_BYTES / _net_time(r, "stream", str(STREAM_BYTES)) / 1e6  # noqa: E731
    akuma = benchmark.pedantic(run, args=("akuma",), rounds=1, iterations=1)
    _report(benchmark, f"loopback TCP ({STREAM_BYTES >> 20} MiB)", akuma, run("qemu"), "MB/s")


def test_loopback_connections_per_second(benchmark):
    run = lambda r: CONNECTS / _net_time(r, "connects", str(CONNECTS))  # noqa: E731
    akuma = benchmark.pedantic(run, args=("akuma",), rounds=1, iterations=1)
    _report(benchmark, f"loopback connect+accept+close x {CONNECTS}", akuma, run("qemu"),
            "conn/s")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _forward_throughput(runner):
    """Host -> guest tcp-sink: through `-p` (akuma) or straight to the host
    port the qemu-user guest binds."""
    port = _free_port()
    if runner == "akuma":
        cmd = AKUMA[:-1] + ["-p", f"{port}:9000", "--"] + _cmd("akuma", "tcp-sink", "9000")[
            len(AKUMA):]
    else:
        cmd = _cmd("qemu", "tcp-sink", str(port))
    p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert p.stdout.readline() == b"ready\n"
        chunk = b"\0" * (1 << 20)
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port)) as s:
            for _ in range(FORWARD_BYTES // len(chunk)):
                s.sendall(chunk)
            s.shutdown(socket.SHUT_WR)
            reply = b"".join(iter(lambda: s.recv(64), b""))
        elapsed = time.perf_counter() - t0
        assert reply == b"%d\n" % FORWARD_BYTES
    finally:
        p.wait(timeout=120)
    return FORWARD_BYTES / elapsed / 1e6


def test_host_to_guest_forward_throughput(benchmark):
    akuma = benchmark.pedantic(_forward_throughput, args=("akuma",), rounds=1, iterations=1)
    _report(benchmark, f"host->guest via -p ({FORWARD_BYTES >> 20} MiB)", akuma,
            _forward_throughput("qemu"), "MB/s")


def test_checksum_throughput(benchmark):
    from akuma.net.checksum import csum_partial
    buf = os.urandom(65536)
    rounds = 20000 if FULL else 2000

    def run():
        t0 = time.perf_counter()
        for _ in range(rounds):
            csum_partial(buf)
        return len(buf) * rounds / (time.perf_counter() - t0) / 1e6
    mbs = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(MBps=round(mbs))
    print(f"\nchecksum over 64 KiB: {mbs:.0f} MB/s (qemu-user has no counterpart: its "
          f"checksums are the host kernel's)")
