"""The workloads both runners execute: (name, guest program, args)."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import guestlib  # noqa: E402

AKUMA = [sys.executable, "-m", "akuma.cli.main", "run", "--"]
ENV = {"PATH": "/usr/bin:/bin"}

SYSCALL_LOOP = 2_000_000

# name -> (program, args, what one unit of work is)
WORKLOADS = {
    "sieve (20M)": ("cpu", ("20000000", "0")),
    "sha256 (64 MiB)": ("cpu", ("100", "64")),
    "getppid x 2M": ("getppid_loop", (str(SYSCALL_LOOP),)),
    "getppid x 0": ("getppid_loop", ("0",)),
    "hello (whole process)": ("hello", ()),
    "fork+exit+wait x 1000": ("procbench", ("fork", "1000")),
    "fork+exec+wait x 300": ("procbench", ("exec", "300")),
    "pipe ping-pong x 20000": ("procbench", ("pingpong", "20000")),
    "pipe 1 MiB writes x 256": ("procbench", ("pipebulk", "256")),
    "poll ping-pong x 10000": ("procbench", ("pollpong", "10000")),
    "epoll ping-pong x 10000": ("procbench", ("epollpong", "10000")),
    "thread create+join x 2000": ("procbench", ("threads", "2000")),
    "futex ping-pong x 20000": ("procbench", ("futex", "20000")),
    "procbench x 0": ("procbench", ("fork", "0")),
}
# qemu-user cannot exec another AArch64 program without binfmt_misc.
AKUMA_ONLY = {"fork+exec+wait x 300"}


def command(runner, name):
    prog, args = WORKLOADS[name]
    exe = str(guestlib.build(prog))
    if runner == "akuma":
        return AKUMA + [exe, *args]
    return [guestlib.qemu_path(), exe, *args]


def time_once(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def best_of(cmd, repeat):
    return min(time_once(cmd) for _ in range(repeat))
