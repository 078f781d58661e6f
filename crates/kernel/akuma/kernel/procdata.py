"""What /proc shows: the kernel fills a procfs with files produced on
demand from its live state (memory, processes, mounts, uptime)."""
import os
import time

from akuma.abi import stat as st
from akuma.vfs.inode import Inode
from akuma.vfs.procfs import ProcDir, ProcSymlink

from akuma.sched import BLOCKED, ZOMBIE, STOPPED

VERSION = b"Linux version 6.6.0-akuma (akuma@akuma) (Python/Cython on unicorn) #1 SMP PREEMPT\n"
_STATE = {"R": (b"R", b"running"), BLOCKED: (b"S", b"sleeping"), ZOMBIE: (b"Z", b"zombie"),
          STOPPED: (b"T", b"stopped")}


def install(kernel, procfs):
    """Populate ``procfs`` (an akuma.vfs.ProcFs) from ``kernel``."""
    k = kernel
    procfs.add_file(b"meminfo", lambda: _meminfo(k))
    procfs.add_file(b"uptime", lambda: _uptime(k))
    procfs.add_file(b"version", lambda: VERSION)
    procfs.add_file(b"cpuinfo", lambda: _cpuinfo(k))
    procfs.add_file(b"loadavg", lambda: _loadavg(k))
    procfs.add_file(b"stat", lambda: _proc_stat(k))
    procfs.add_file(b"filesystems", lambda: b"nodev\tproc\nnodev\ttmpfs\nnodev\tdevtmpfs\n"
                                            b"\text2\nnodev\thostfs\nnodev\tsysfs\n")
    procfs.add_file(b"mounts", lambda: _mounts(k))
    procfs.add_file(b"sys/kernel/hostname", lambda: k.hostname + b"\n")
    procfs.add_file(b"sys/kernel/osrelease", lambda: b"6.6.0-akuma\n")
    procfs.add_file(b"sys/kernel/ostype", lambda: b"Linux\n")
    procfs.add_file(b"sys/kernel/pid_max", lambda: b"4194304\n")
    from akuma.net.unix import proc_net_unix
    procfs.add_file(b"net/unix", lambda: proc_net_unix(k))
    from akuma.net.procnet import install as install_proc_net
    install_proc_net(procfs, k)
    root = procfs.root
    root.children[b"self"] = ProcSymlink(procfs, lambda: str(_current_pid(k)).encode())
    root.children[b"thread-self"] = ProcSymlink(
        procfs, lambda: f"{_current_pid(k)}/task/{_current_tid(k)}".encode())
    root.dynamic = lambda: {str(pid).encode(): (lambda p=p: _pid_dir(procfs, root, k, p))
                            for pid, p in k.processes.items() if not p.reaped}


def _current_pid(k):
    t = k.cpu.task
    return t.process.pid if t is not None else 0


def _current_tid(k):
    t = k.cpu.task
    return t.tid if t is not None else 0


def _pid_dir(fs, parent, k, p):
    from akuma.vfs.procfs import ProcFile
    d = ProcDir(fs, parent=parent)
    files = {
        b"maps": lambda: _maps(p),
        b"status": lambda: _status(k, p),
        b"stat": lambda: _stat(k, p),
        b"statm": lambda: _statm(p),
        b"cmdline": lambda: b"".join(a + b"\0" for a in p.argv),
        b"environ": lambda: b"".join(e + b"\0" for e in p.envp),
        b"comm": lambda: p.comm + b"\n",
        b"smaps_rollup": lambda: _smaps_rollup(p),
        b"mounts": lambda: _mounts(k, p),
        b"mountinfo": lambda: _mounts(k, p, info=True),
    }
    for name, fn in files.items():
        d.children[name] = ProcFile(fs, fn)
    d.children[b"exe"] = ProcSymlink(fs, lambda: p.exe)
    d.children[b"cwd"] = ProcSymlink(fs, lambda: p.cwd)
    d.children[b"root"] = ProcSymlink(fs, lambda: p.root)
    d.children[b"fd"] = ProcDir(fs, parent=d, mode=0o500, dynamic=lambda: {
        str(fd).encode(): (lambda f=f: ProcSymlink(fs, lambda: _fd_target(f),
                                                   magic=lambda mnt: _fd_loc(f, mnt)))
        for fd, f in sorted(p.fds._files.items())})
    d.children[b"task"] = ProcDir(fs, parent=d, dynamic=lambda: {
        str(t.tid).encode(): (lambda t=t: _task_dir(fs, d, k, t)) for t in p.threads
        if t.state != ZOMBIE})
    _owned_by(p, d)
    return d


def _fd_target(f):
    """What /proc/<pid>/fd/N reads as: the path it was opened by, or
    Linux's pipe:[ino] / socket:[ino] / anon_inode:[kind] names."""
    path = getattr(f, "path", None)
    if isinstance(path, (bytes, bytearray)) and path:
        return bytes(path)
    return b"anon_inode:[unknown]"


def _fd_loc(f, mnt):
    """Where opening /proc/<pid>/fd/N leads: the file's own place, or for a
    pipe a node that opens a new end of the same pipe (as Linux does)."""
    loc = getattr(f, "loc", None)
    if loc is not None:
        return loc
    if hasattr(f, "pipe") or getattr(f, "host_fd", None) is not None:
        from akuma.vfs.mount import Loc
        return Loc(mnt, _OpenObjectNode(mnt.fs, f), ())
    return None


class _OpenObjectNode(Inode):
    """An open object with no place in the VFS (a pipe, a host stream such
    as akuma's own stdout) reached through /proc/<pid>/fd/N: opening it
    gives a new end of the same pipe, or the same host stream."""
    opens_itself = True

    def __init__(self, fs, f):
        super().__init__(fs, (st.S_IFIFO if hasattr(f, "pipe") else st.S_IFCHR) | 0o600)
        self.f = f

    def open(self, flags):
        from akuma.abi import fcntl as F
        f = self.f
        if hasattr(f, "pipe"):
            from akuma.kernel.pipe import PipeEnd
            return PipeEnd(f.pipe, flags & F.O_ACCMODE != F.O_RDONLY, flags)
        from akuma.vfs import HostStream
        return HostStream(os.dup(f.host_fd), f.path)

    def stat(self):
        return self.f.stat()


def _owned_by(p, d):
    """/proc/<pid> belongs to the process's effective ids, as on Linux
    (ps shows the owner of this directory as the process's user)."""
    for node in [d, *d.children.values()]:
        node.uid, node.gid = p.creds.euid, p.creds.egid


def _task_dir(fs, parent, k, t):
    from akuma.vfs.procfs import ProcFile
    d = ProcDir(fs, parent=parent)
    d.children[b"stat"] = ProcFile(fs, lambda: _stat(k, t.process, t))
    d.children[b"comm"] = ProcFile(fs, lambda: t.process.comm + b"\n")
    _owned_by(t.process, d)
    return d


def _kb(n_bytes):
    return n_bytes // 1024


def _meminfo(k):
    from akuma.kernel.filemaps import cached_pages
    f = k.frames
    total, free, cached = f.total * 4, f.free * 4, cached_pages(k) * 4
    # Cached file pages are reclaimable: available, as `free` expects.
    lines = [("MemTotal", total), ("MemFree", free), ("MemAvailable", free + cached),
             ("Buffers", 0), ("Cached", cached), ("SwapCached", 0),
             ("Active", total - free - cached), ("Inactive", cached),
             ("SwapTotal", 0), ("SwapFree", 0), ("Shmem", 0),
             ("PageTables", sum(p.aspace.pt.table_pages * 4 for p in k.processes.values()
                                if p.alive and p.aspace is not None))]
    return "".join(f"{name + ':':16s}{v:8d} kB\n" for name, v in lines).encode()


def _uptime(k):
    up = (time.monotonic_ns() - k.boot_ns) / 1e9
    return f"{up:.2f} {max(0.0, up - sum(p.cpu_ns() for p in k.processes.values()) / 1e9):.2f}\n".encode()


def _loadavg(k):
    running = sum(1 for t in k.tasks.values() if t.state == "R")
    return f"0.00 0.00 0.00 {running}/{len(k.tasks)} {k._next_pid - 1}\n".encode()


def _proc_stat(k):
    """/proc/stat (top, vmstat, ps): one CPU, times in USER_HZ ticks since boot."""
    tick = 10_000_000
    up = time.monotonic_ns() - k.boot_ns
    user, system = k.loop.user_ns // tick, k.loop.system_ns // tick
    idle = max(0, up // tick - user - system)
    cpu = f"{user} 0 {system} {idle} 0 0 0 0 0 0"
    running = sum(1 for t in k.tasks.values() if t.state == "R")
    btime = int(time.time() - up / 1e9)
    return (f"cpu  {cpu}\ncpu0 {cpu}\nintr 0\nctxt {k.loop.switches}\nbtime {btime}\n"
            f"processes {k._next_pid - 1}\nprocs_running {max(1, running)}\n"
            f"procs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n").encode()


def _cpuinfo(k):
    names = ["fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics",
             "fphp", "asimdhp", "cpuid", "asimdrdm", "jscvt", "fcma", "lrcpc", "dcpop", "sha3",
             "sm3", "sm4", "asimddp", "sha512", "sve", "asimdfhm", "dit", "uscat", "ilrcpc",
             "flagm", "ssbs", "sb", "paca", "pacg"]
    feats = " ".join(n for i, n in enumerate(names) if k.hwcap >> i & 1)
    return (f"processor\t: 0\nBogoMIPS\t: 100.00\nFeatures\t: {feats}\n"
            "CPU implementer\t: 0x00\nCPU architecture: 8\nCPU variant\t: 0x0\n"
            "CPU part\t: 0x051\nCPU revision\t: 0\n\n").encode()


def _mounts(k, p=None, info=False):
    """/proc/mounts and /proc/<pid>/mount{s,info} (akuma.vfs.mounttab), seen
    from the process's root."""
    from akuma.vfs import mounttab
    if p is None:
        t = k.cpu.task
        p = t.process if t is not None else None
    root = p.root if p is not None and isinstance(p.root, bytes) else b"/"
    return (mounttab.mountinfo if info else mounttab.proc_mounts)(k.vfs, root)


def _maps(p):
    from akuma.mm import PROT_READ, PROT_WRITE, PROT_EXEC
    out = []
    for v in (p.aspace.vmas if p.aspace is not None else []):
        perms = ("r" if v.prot & PROT_READ else "-") + ("w" if v.prot & PROT_WRITE else "-") + \
            ("x" if v.prot & PROT_EXEC else "-") + "p"
        name = v.name if isinstance(v.name, str) else v.name.decode(errors="replace")
        out.append(f"{v.start:08x}-{v.end:08x} {perms} 00000000 00:00 0"
                   + (f"{'':18s}{name}" if name else "") + "\n")
    return "".join(out).encode()


def _vm(p):
    a = p.aspace
    if a is None:
        return 0, 0
    return a.size_bytes, a.rss_pages * 4096


def _status(k, p):
    size, rss = _vm(p)
    t = p.threads[0] if p.threads else None
    state = _STATE.get(t.state if t else ZOMBIE, (b"S", b"sleeping"))
    c = p.creds
    return (f"Name:\t{p.comm.decode(errors='replace')}\nUmask:\t{p.umask:04o}\n"
            f"State:\t{state[0].decode()} ({state[1].decode()})\nTgid:\t{p.pid}\nPid:\t{p.pid}\n"
            f"PPid:\t{p.ppid}\nUid:\t{c.uid}\t{c.euid}\t{c.suid}\t{c.euid}\n"
            f"Gid:\t{c.gid}\t{c.egid}\t{c.sgid}\t{c.egid}\n"
            f"Groups:\t{' '.join(map(str, c.groups))}\n"
            f"VmSize:\t{_kb(size):8d} kB\nVmRSS:\t{_kb(rss):8d} kB\n"
            f"Threads:\t{len([x for x in p.threads if x.state != ZOMBIE])}\n"
            f"SigPnd:\t{t.pending if t else 0:016x}\nShdPnd:\t{p.pending_signals:016x}\n"
            f"SigBlk:\t{t.sigmask if t else 0:016x}\n").encode()


def _stat(k, p, t=None):
    user, system = (t.utime_ns, t.stime_ns) if t else p.cpu_times()
    ident = p.pid if t is None else t.tid
    t = t or (p.threads[0] if p.threads else None)
    state = _STATE.get(t.state if t else ZOMBIE, (b"S",))[0].decode()
    size, rss = _vm(p)
    tick = 10_000_000       # USER_HZ = 100
    fields = [ident, f"({p.comm.decode(errors='replace')})", state,
              p.ppid, p.pgid, p.sid, 0, -1, 0, 0, 0, 0, 0, user // tick, system // tick,
              p.child_utime_ns // tick, p.child_stime_ns // tick, 20 + p.nice, p.nice,
              len(p.threads), 0, p.start_ns // 10_000_000, size, rss // 4096]
    return (" ".join(map(str, fields)) + " 0" * 28 + "\n").encode()


def _statm(p):
    size, rss = _vm(p)
    return f"{size // 4096} {rss // 4096} 0 0 0 0 0\n".encode()


def _smaps_rollup(p):
    size, rss = _vm(p)
    return (f"00000000-ffffffffffff ---p 00000000 00:00 0                  [rollup]\n"
            f"Rss:            {_kb(rss):8d} kB\nPss:            {_kb(rss):8d} kB\n").encode()


__all__ = ["install"]
