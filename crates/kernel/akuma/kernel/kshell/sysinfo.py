"""Built-ins that report the kernel's live state: ps, free, df, mount,
uname, uptime.  Numbers come from the kernel's own tables (processes,
frames, mounts, statfs), the same sources /proc uses."""
import os
import struct
import time

from akuma.abi import KernelError
from akuma.sched import ZOMBIE

_USAGE = 2


def b_ps(sh, argv, io):
    k = sh.kernel
    rows = ["  PID  PPID  PGID STAT     TIME COMMAND"]
    for pid, p in sorted(k.processes.items()):
        if p.reaped:
            continue
        t = p.threads[0] if p.threads else None
        state = "Z" if not p.alive else ("T" if p.stopped else
                                         {"R": "R", "S": "S", "T": "T"}.get(
                                             t.state if t else ZOMBIE, "S"))
        secs = p.cpu_ns() // 1_000_000_000
        cmd = b" ".join(p.argv) if p.argv else b"[" + p.comm + b"]"
        if not p.alive:
            cmd = b"[" + p.comm + b"] <defunct>"
        rows.append(f"{pid:5d} {p.ppid:5d} {p.pgid:5d} {state:4s} "
                    f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d} "
                    f"{cmd.decode(errors='replace')}")
    yield from io.out("\n".join(rows) + "\n")
    return 0


def b_free(sh, argv, io):
    unit, label = 1, "KiB"
    for a in argv[1:]:
        if a in ("-m", "--mebi"):
            unit, label = 1024, "MiB"
        elif a in ("-k", "--kibi"):
            unit, label = 1, "KiB"
        else:
            yield from io.err(f"free: unknown option {a} (use -k or -m)\n")
            return _USAGE
    f = sh.kernel.frames
    total, free = f.total * 4 // unit, f.free * 4 // unit
    used = total - free
    yield from io.out(f"{label:>7s} {'total':>11s} {'used':>11s} {'free':>11s} {'shared':>11s} "
                      f"{'buff/cache':>11s} {'available':>11s}\n"
                      f"{'Mem:':7s} {total:11d} {used:11d} {free:11d} {0:11d} {0:11d} "
                      f"{free:11d}\n"
                      f"{'Swap:':7s} {0:11d} {0:11d} {0:11d}\n")
    return 0


def _statfs(sh, path):
    """(block size, blocks, free, available) of the filesystem at ``path``."""
    from akuma.kernel.syscalls.fsmeta import statfs_of, Target
    loc = sh.kernel.vfs.resolve(path, cwd=sh.proc.cwd, root=sh.proc.root)
    v = struct.unpack("<qqQQQQQiiqqq32x", statfs_of(Target(loc=loc)))
    return v[1], v[2], v[3], v[4]


def _mount_rows(sh):
    """(source, mount point, fstype, readonly) for every mount."""
    out = []
    for m in sh.kernel.vfs.mounts():
        fstype = m.fs.fstype.decode(errors="replace")
        out.append((fstype, m.path.decode(errors="replace"), fstype, m.readonly))
    return out


def b_df(sh, argv, io):
    rows = _mount_rows(sh)
    wanted = argv[1:]
    if wanted:
        chosen = []
        for path in wanted:
            try:
                real = sh.kernel.vfs.resolve(os.fsencode(path), cwd=sh.proc.cwd,
                                             root=sh.proc.root).path.decode(errors="replace")
            except KernelError as e:
                yield from io.err(f"df: {path}: {os.strerror(e.errno)}\n")
                return 1
            best = max((r for r in rows if real == r[1] or real.startswith(r[1].rstrip("/") + "/")),
                       key=lambda r: len(r[1]), default=None)
            if best is not None:
                chosen.append(best)
        rows = chosen
    lines = [f"{'Filesystem':<14s} {'1K-blocks':>10s} {'Used':>10s} {'Available':>10s} "
             f"{'Use%':>4s} Mounted on"]
    for source, point, _, _ in rows:
        try:
            bsize, blocks, bfree, bavail = _statfs(sh, os.fsencode(point))
        except KernelError:
            continue
        size = blocks * bsize // 1024
        used = (blocks - bfree) * bsize // 1024
        avail = bavail * bsize // 1024
        pct = f"{-(-used * 100 // (used + avail))}%" if used + avail else "-"
        lines.append(f"{source:<14s} {size:10d} {used:10d} {avail:10d} {pct:>4s} {point}")
    yield from io.out("\n".join(lines) + "\n")
    return 0


def b_mount(sh, argv, io):
    args = argv[1:]
    if not args:
        for source, point, fstype, ro in _mount_rows(sh):
            yield from io.out(f"{source} on {point} type {fstype} ({'ro' if ro else 'rw'})\n")
        return 0
    if len(args) == 4 and args[0] == "-t":
        fstype, point = args[1], args[3]
        if fstype != "tmpfs":
            yield from io.err(f"mount: unsupported filesystem type {fstype} (only tmpfs)\n")
            return 32
        from akuma.vfs import MemFs
        try:
            where = sh.kernel.vfs.resolve_dir(os.fsencode(point), cwd=sh.proc.cwd,
                                              root=sh.proc.root)
            sh.kernel.vfs.mount(where, MemFs(mode=0o1777))
        except KernelError as e:
            yield from io.err(f"mount: {point}: {os.strerror(e.errno)}\n")
            return 32
        return 0
    yield from io.err("mount: usage: mount | mount -t tmpfs NAME DIR\n")
    return _USAGE


def b_uname(sh, argv, io):
    from akuma.kernel.syscalls.misc import UTS
    uts = dict(UTS, nodename=sh.kernel.hostname)
    order = "snrvm"
    keys = {"s": "sysname", "n": "nodename", "r": "release", "v": "version", "m": "machine"}
    flags = ""
    for a in argv[1:]:
        if not a.startswith("-") or any(c not in order + "a" for c in a[1:]):
            yield from io.err(f"uname: invalid option {a} (use -a, -s, -n, -r, -v, -m)\n")
            return _USAGE
        flags += a[1:]
    if "a" in flags:
        flags = order
    flags = flags or "s"
    words = [uts[keys[c]].decode(errors="replace") for c in order if c in flags]
    yield from io.out(" ".join(words) + "\n")
    return 0


def b_uptime(sh, argv, io):
    k = sh.kernel
    up = (time.monotonic_ns() - k.boot_ns) // 1_000_000_000
    days, rest = divmod(up, 86400)
    span = (f"{days} day{'s' if days != 1 else ''}, " if days else "") + \
        f"{rest // 3600}:{rest // 60 % 60:02d}:{rest % 60:02d}"
    alive = sum(1 for p in k.processes.values() if p.alive)
    yield from io.out(f" {time.strftime('%H:%M:%S')} up {span}, {alive} "
                      f"process{'es' if alive != 1 else ''}\n")
    return 0


__all__ = ["b_ps", "b_free", "b_df", "b_mount", "b_uname", "b_uptime"]
