"""The kernel's SSH server on a booted test image: login latency (`ssh host
true`, connect to exit, mean of N), the wall time of 64 parallel `ssh host
true`, and bulk throughput `ssh host 'head -c NM /dev/zero'` (the issue's
command; GNU head from coreutils) with aes128-ctr and chacha20-poly1305
through the guest kernel, next to an asyncssh server on the host (same
machine, same run; host processes).  N is 16 MB; 200 MB with
AKUMA_BENCH_FULL=1.  Figures are printed (pytest -s) and kept in
extra_info.  (Host adapter vs asyncssh: test_bench_ssh.py.)"""
import asyncio
import concurrent.futures
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from sshguest import BootedSystem  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client")
MEGABYTES = int(os.environ.get("AKUMA_BENCH_SSH_MB",
                               "200" if os.environ.get("AKUMA_BENCH_FULL") == "1" else "16"))
CIPHERS = ["aes128-ctr", "chacha20-poly1305@openssh.com"]
LOGINS = 10
PARALLEL = 64


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    booted = BootedSystem(tmp_path_factory.mktemp("benchsshkernel"))
    yield booted
    booted.stop()


@pytest.fixture
def reference(system):
    """An asyncssh server on 127.0.0.1 running commands as host processes,
    accepting the test key; its port (None without asyncssh)."""
    try:
        import asyncssh
    except ImportError:
        yield None
        return
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def handle(process):
        # The commands read no input; their output is copied by hand (with
        # process.redirect asyncssh dropped some connections mid-output:
        # "read() called while another coroutine is already waiting").
        proc = await asyncio.create_subprocess_shell(process.command, stdin=subprocess.DEVNULL,
                                                     stdout=subprocess.PIPE)
        while chunk := await proc.stdout.read(1 << 16):
            process.stdout.write(chunk)
            await process.stdout.drain()
        process.exit(await proc.wait())

    async def start():
        return await asyncssh.create_server(
            asyncssh.SSHServer, "127.0.0.1", 0,
            server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
            authorized_client_keys=system.key + ".pub", process_factory=handle,
            encryption_algs=CIPHERS, encoding=None)
    server = asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    yield server.sockets[0].getsockname()[1]
    server.close()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_login_latency(benchmark, system):
    times = []

    def logins():
        for _ in range(LOGINS):
            start = time.perf_counter()
            got = system.ssh("true")
            times.append(time.perf_counter() - start)
            assert got.returncode == 0, got.stderr
    benchmark.pedantic(logins, rounds=1, iterations=1)
    mean = sum(times) / len(times)
    benchmark.extra_info.update(mean_ms=round(mean * 1000, 1), best_ms=round(min(times) * 1000, 1))
    print(f"\nkernel sshd login latency (`ssh host true`, connect to exit): mean {mean * 1000:.0f} ms "
          f"over {len(times)}, best {min(times) * 1000:.0f} ms")


def test_64_parallel_ssh_true(benchmark, system):
    walls = []

    def wave():
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
            results = list(pool.map(lambda _: system.ssh("true", timeout=300), range(PARALLEL)))
        walls.append(time.perf_counter() - start)
        failed = [r.stderr for r in results if r.returncode != 0]
        assert not failed, failed[:3]
    benchmark.pedantic(wave, rounds=1, iterations=1)
    benchmark.extra_info.update(wall_s=round(walls[0], 2))
    print(f"\nkernel sshd: {PARALLEL} parallel `ssh host true`: wall {walls[0]:.2f} s")


def _throughput(args):
    start = time.perf_counter()
    r = subprocess.run(args + [f"head -c {MEGABYTES}M /dev/zero"],
                       capture_output=True,
                       timeout=1200, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    assert r.returncode == 0 and len(r.stdout) == MEGABYTES << 20, (r.returncode, len(r.stdout), r.stderr)
    return len(r.stdout) / elapsed / 1e6


@pytest.mark.parametrize("cipher", CIPHERS)
def test_bulk_throughput(benchmark, system, reference, cipher):
    kernel_mbs = benchmark.pedantic(_throughput, args=(system.ssh_args("user", None, "-c", cipher),),
                                    rounds=1, iterations=1)
    benchmark.extra_info.update(kernel_MBps=round(kernel_mbs, 1), megabytes=MEGABYTES)
    line = f"\nkernel sshd {cipher}, {MEGABYTES} MB: {kernel_mbs:.1f} MB/s"
    if reference is not None:
        args = system.ssh_args("user", None, "-c", cipher)
        args[args.index("-p") + 1] = str(reference)
        asyncssh_mbs = _throughput(args)
        benchmark.extra_info.update(asyncssh_MBps=round(asyncssh_mbs, 1),
                                    ratio=round(kernel_mbs / asyncssh_mbs, 3))
        line += f", asyncssh on the host {asyncssh_mbs:.0f} MB/s, ratio {kernel_mbs / asyncssh_mbs:.2f}"
    print(line)
