"""Run the same guest binaries under akuma and qemu-aarch64-static in one run
and print a table of times and ratios (akuma / qemu: < 1 means akuma is
faster).  Usage: python benches/compare.py [--repeat N]"""
import argparse
import sys

from workloads import WORKLOADS, SYSCALL_LOOP, AKUMA_ONLY, command, best_of, guestlib


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3, help="runs per cell; the best is kept")
    opts = ap.parse_args()
    if not guestlib.qemu_path():
        print("qemu-aarch64-static not found (apt-get install qemu-user-static)", file=sys.stderr)
        return 2
    times = {}
    for name in WORKLOADS:
        for runner in ("akuma", "qemu"):
            if runner == "qemu" and name in AKUMA_ONLY:
                continue
            times[name, runner] = best_of(command(runner, name), opts.repeat)
    print(f"{'workload':28s} {'akuma s':>9s} {'qemu s':>9s} {'akuma/qemu':>11s}")
    for name in WORKLOADS:
        a, q = times[name, "akuma"], times.get((name, "qemu"))
        if q is None:
            print(f"{name:28s} {a:9.3f} {'n/a':>9s} {'n/a':>11s}")
        else:
            print(f"{name:28s} {a:9.3f} {q:9.3f} {a / q:11.2f}")
    # Per-call cost of a trivial syscall: the loop minus the same program
    # with zero iterations (start-up and exit cancel out).
    per = {r: (times["getppid x 2M", r] - times["getppid x 0", r]) / SYSCALL_LOOP * 1e6
           for r in ("akuma", "qemu")}
    print(f"{'getppid round trip (us)':28s} {per['akuma']:9.3f} {per['qemu']:9.3f} "
          f"{per['akuma'] / per['qemu']:11.2f}")
    base = times["procbench x 0", "akuma"]
    per_fork = (times["fork+exit+wait x 1000", "akuma"] - base) / 1000 * 1e3
    q_fork = (times["fork+exit+wait x 1000", "qemu"] - times["procbench x 0", "qemu"]) / 1000 * 1e3
    print(f"{'fork+exit+wait (ms)':28s} {per_fork:9.3f} {q_fork:9.3f} {per_fork / q_fork:11.2f}")
    per_exec = (times["fork+exec+wait x 300", "akuma"] - base) / 300 * 1e3
    print(f"{'fork+exec+exit+wait (ms)':28s} {per_exec:9.3f} {'n/a':>9s} {'n/a':>11s}")
    a_sw = (times["pipe ping-pong x 20000", "akuma"] - base) / 40000 * 1e6
    q_sw = (times["pipe ping-pong x 20000", "qemu"] - times["procbench x 0", "qemu"]) / 40000 * 1e6
    print(f"{'switch via pipe (us)':28s} {a_sw:9.3f} {q_sw:9.3f} {a_sw / q_sw:11.2f}")
    qbase = times["procbench x 0", "qemu"]
    for name, n, unit, label in (("thread create+join x 2000", 2000, 1e6, "thread create+join (us)"),
                                 ("futex ping-pong x 20000", 40000, 1e6, "futex wake (us)")):
        a = (times[name, "akuma"] - base) / n * unit
        q = (times[name, "qemu"] - qbase) / n * unit
        print(f"{label:28s} {a:9.3f} {q:9.3f} {a / q:11.2f}")
    for name, n, label in (("poll ping-pong x 10000", 20000, "poll wake-up (us)"),
                           ("epoll ping-pong x 10000", 20000, "epoll wake-up (us)")):
        a = (times[name, "akuma"] - base) / n * 1e6
        q = (times[name, "qemu"] - qbase) / n * 1e6
        print(f"{label:28s} {a:9.3f} {q:9.3f} {a / q:11.2f}")
    name = "pipe 1 MiB writes x 256"
    a = 256 / 1024 / max(1e-9, times[name, "akuma"] - base)
    q = 256 / 1024 / max(1e-9, times[name, "qemu"] - qbase)
    print(f"{'pipe throughput (GB/s)':28s} {a:9.2f} {q:9.2f} {a / q:11.2f}")
    # Compute without start-up: subtract each runner's whole-process hello.
    for name in ("sieve (20M)", "sha256 (64 MiB)"):
        a = times[name, "akuma"] - times["hello (whole process)", "akuma"]
        q = times[name, "qemu"] - times["hello (whole process)", "qemu"]
        print(f"{name + ' minus start-up':28s} {a:9.3f} {q:9.3f} {a / q:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
