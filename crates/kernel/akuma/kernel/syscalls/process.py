"""Process identity, exit, limits and scheduling calls."""
import struct

from akuma.abi import KernelError
from akuma.abi.errors import E2BIG, EACCES, EFAULT, EINVAL, EPERM, ESRCH
from akuma.mm import EFault
from akuma.kernel.rlimit import RLIM_NLIMITS, RLIMIT_NICE, RLIMIT_NOFILE
from akuma.kernel.syscalls.args import s32, read_user, write_user
from akuma.kernel.syscalls.registry import syscall, ignored


@syscall("exit", "int")
def sys_exit(t, status, *_):
    t.kernel.exit_thread(t, (status & 0xFF) << 8)
    return 0


@syscall("exit_group", "int")
def sys_exit_group(t, status, *_):
    t.kernel.exit_process(t.process, (status & 0xFF) << 8)
    return 0


@syscall("getpid")
def sys_getpid(t, *_):
    return t.process.pid


@syscall("gettid")
def sys_gettid(t, *_):
    return t.tid


@syscall("getppid")
def sys_getppid(t, *_):
    return t.process.ppid


@syscall("getuid")
def sys_getuid(t, *_):
    return t.process.creds.uid


@syscall("geteuid")
def sys_geteuid(t, *_):
    return t.process.creds.euid


@syscall("getgid")
def sys_getgid(t, *_):
    return t.process.creds.gid


@syscall("getegid")
def sys_getegid(t, *_):
    return t.process.creds.egid


@syscall("getresuid", "hex hex hex")
def sys_getresuid(t, ruid, euid, suid, *_):
    c = t.process.creds
    for addr, v in ((ruid, c.uid), (euid, c.euid), (suid, c.suid)):
        write_user(t, addr, struct.pack("<I", v))
    return 0


@syscall("getresgid", "hex hex hex")
def sys_getresgid(t, rgid, egid, sgid, *_):
    c = t.process.creds
    for addr, v in ((rgid, c.gid), (egid, c.egid), (sgid, c.sgid)):
        write_user(t, addr, struct.pack("<I", v))
    return 0


@syscall("getgroups", "int hex")
def sys_getgroups(t, size, lst, *_):
    groups = t.process.creds.groups
    size = s32(size)
    if size == 0:
        return len(groups)
    if size < len(groups):
        return -EINVAL
    if groups:
        write_user(t, lst, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


@syscall("getpgid", "int")
def sys_getpgid(t, pid, *_):
    return _process(t, s32(pid)).pgid


@syscall("getsid", "int")
def sys_getsid(t, pid, *_):
    return _process(t, s32(pid)).sid


def _process(t, pid):
    if pid == 0:
        return t.process
    p = t.kernel.processes.get(pid)
    if p is None or not p.alive:
        raise KernelError(ESRCH)
    return p


@syscall("set_tid_address", "hex")
def sys_set_tid_address(t, tidptr, *_):
    t.clear_child_tid = tidptr
    return t.tid


@syscall("set_robust_list", "hex size")
def sys_set_robust_list(t, head, length, *_):
    if length != 24:
        return -EINVAL
    t.robust_list = (head, length)
    return 0


@syscall("get_robust_list", "int hex hex")
def sys_get_robust_list(t, pid, head_ptr, len_ptr, *_):
    head, length = t.robust_list
    write_user(t, head_ptr, struct.pack("<Q", head))
    write_user(t, len_ptr, struct.pack("<Q", length))
    return 0


def _rlimit_target(t, pid):
    return _process(t, s32(pid))


def _set_rlimit(t, p, resource, soft, hard):
    cur_soft, cur_hard = p.rlimits[resource]
    if soft > hard:
        raise KernelError(EINVAL)
    if hard > cur_hard and p.creds.euid != 0:
        raise KernelError(EPERM)
    if resource == RLIMIT_NOFILE and hard > 1 << 20:
        raise KernelError(EPERM)    # fs.nr_open
    p.rlimits[resource] = [soft, hard]


@syscall("prlimit64", "int int hex hex")
def sys_prlimit64(t, pid, resource, new, old, *_):
    resource = s32(resource)
    if not 0 <= resource < RLIM_NLIMITS:
        return -EINVAL
    p = _rlimit_target(t, pid)
    soft_hard = None
    if new:
        soft_hard = struct.unpack("<QQ", read_user(t, new, 16))
    if old:
        write_user(t, old, struct.pack("<QQ", *p.rlimits[resource]))
    if soft_hard is not None:
        _set_rlimit(t, p, resource, *soft_hard)
    return 0


@syscall("getrlimit", "int hex")
def sys_getrlimit(t, resource, rlim, *_):
    return sys_prlimit64(t, 0, resource, 0, rlim)


@syscall("setrlimit", "int hex")
def sys_setrlimit(t, resource, rlim, *_):
    return sys_prlimit64(t, 0, resource, rlim, 0)


# -- nice values -------------------------------------------------------------------------
PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2
MIN_NICE, MAX_NICE = -20, 19


def find_process(t, pid):
    """The process ``pid`` names (0: the caller; a tid names its process),
    or None.  Zombies count until they are reaped, as on Linux."""
    if pid == 0:
        return t.process
    k = t.kernel
    p = k.processes.get(pid)
    if p is None:
        task = k.tasks.get(pid)
        p = task.process if task is not None else None
    return p if p is not None and not p.reaped else None


def prio_targets(t, which, who):
    """The processes getpriority/setpriority (and ioprio_get/set) act on:
    PRIO_PROCESS, PRIO_PGRP or PRIO_USER ``who`` (0: the caller's).  Linux
    keeps these per thread; here they are per process."""
    k = t.kernel
    if which == PRIO_PROCESS:
        p = find_process(t, who)
        return [p] if p is not None else []
    procs = [p for p in k.processes.values() if not p.reaped]
    if which == PRIO_PGRP:
        pgid = who or t.process.pgid
        return [p for p in procs if p.pgid == pgid]
    uid = (who & 0xFFFFFFFF) if who else t.process.creds.uid
    return [p for p in procs if p.creds.uid == uid]


@syscall("getpriority", "int int")
def sys_getpriority(t, which, who, *_):
    """The highest priority (lowest nice) among the targets, as 20 - nice
    (1..40): the C library turns it back into a nice value."""
    which, who = s32(which), s32(who)
    if not PRIO_PROCESS <= which <= PRIO_USER:
        return -EINVAL
    best = -ESRCH
    for p in prio_targets(t, which, who):
        best = max(best, 20 - p.nice)
    return best


@syscall("setpriority", "int int int")
def sys_setpriority(t, which, who, niceval, *_):
    """set_one_prio for every target: EPERM unless the caller's euid is the
    target's uid or euid (or root); EACCES for a lower nice than the
    target's beyond its RLIMIT_NICE (20 - nice <= limit) unless root.  A
    failure on one target is the answer even when others were changed."""
    which, who, niceval = s32(which), s32(who), s32(niceval)
    if not PRIO_PROCESS <= which <= PRIO_USER:
        return -EINVAL
    niceval = min(max(niceval, MIN_NICE), MAX_NICE)
    c = t.process.creds
    error = -ESRCH
    for p in prio_targets(t, which, who):
        if c.euid != 0 and c.euid not in (p.creds.uid, p.creds.euid):
            error = -EPERM
            continue
        if niceval < p.nice and c.euid != 0 and 20 - niceval > p.rlimits[RLIMIT_NICE][0]:
            error = -EACCES
            continue
        if error == -ESRCH:
            error = 0
        p.nice = niceval
    return error


@syscall("sched_yield")
def sys_sched_yield(t, *_):
    t.kernel.cpu.request_stop()     # the task stays runnable; others go first
    return 0


@syscall("sched_getaffinity", "int size hex")
def sys_sched_getaffinity(t, pid, size, mask, *_):
    _process(t, s32(pid))
    if size < 8 or size & 7:
        return -EINVAL
    write_user(t, mask, struct.pack("<Q", 1))   # one CPU
    return 8


@syscall("sched_setaffinity", "int size hex", note="partial: one CPU; accepted")
def sys_sched_setaffinity(t, pid, size, mask, *_):
    _process(t, s32(pid))
    return 0


@syscall("getcpu", "hex hex")
def sys_getcpu(t, cpu, node, *_):
    if cpu:
        write_user(t, cpu, b"\0\0\0\0")
    if node:
        write_user(t, node, b"\0\0\0\0")
    return 0


PR_SET_NAME, PR_GET_NAME = 15, 16
MAX_ARGS = 2 << 20          # argv + envp bytes (ARG_MAX with an 8 MiB stack)
MAX_ARG_STRLEN = 32 * 4096  # one string


@syscall("prctl", "int hex hex hex hex", note="partial: PR_SET_NAME, PR_GET_NAME")
def sys_prctl(t, option, a2, *_):
    option = s32(option)
    p = t.process
    if option == PR_SET_NAME:
        name = t.process.aspace.read_cstr(a2, 4096) or b""
        p.comm = name[:15]
        return 0
    if option == PR_GET_NAME:
        write_user(t, a2, p.comm[:15] + b"\0")
        return 0
    return -EINVAL


ignored("personality", 0, "hex", note="partial: always PER_LINUX")


# -- the life cycle -------------------------------------------------------------------

@syscall("clone", "hex hex hex hex hex")
def sys_clone(t, flags, stack, ptid, tls, ctid, *_):
    # AArch64 order: flags, newsp, parent_tidptr, tls, child_tidptr.
    return t.kernel.clone(t, flags, stack, ptid, tls, ctid)


@syscall("clone3", "hex size")
def sys_clone3(t, uargs, size, *_):
    if size < 64 or size > 4096:
        return -EINVAL
    raw = read_user(t, uargs, min(size, 88))
    (flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
     tls) = struct.unpack_from("<8Q", raw)
    if exit_signal & ~0xFF or flags & 0xFF:
        return -EINVAL
    sp = stack + stack_size if stack else 0
    return t.kernel.clone(t, flags | exit_signal, sp, parent_tid, tls, child_tid)


def _string_array(t, addr, limit=MAX_ARGS):
    """argv/envp: NULL-terminated pointer array of strings (E2BIG, EFAULT)."""
    out = []
    total = 0
    if addr == 0:
        return out
    while True:
        (ptr,) = struct.unpack("<Q", read_user(t, addr + 8 * len(out), 8))
        if ptr == 0:
            return out
        s = t.process.aspace.read_cstr(ptr, MAX_ARG_STRLEN) if ptr else None
        if s is None:
            raise KernelError(E2BIG)
        total += len(s) + 1 + 8
        if total > limit or len(out) >= 0x7FFFFFFF:
            raise KernelError(E2BIG)
        out.append(s)


@syscall("execve", "path hex hex")
def sys_execve(t, pathname, argv, envp, *_):
    from akuma.kernel.syscalls.args import path_arg
    from akuma.kernel.kernel import ExecError
    path = path_arg(t, pathname)
    try:
        args = _string_array(t, argv)
        env = _string_array(t, envp)
    except EFault:
        return -EFAULT
    try:
        t.kernel.execve(t, path, args, env)
    except ExecError as e:
        return -e.errno
    return 0


@syscall("wait4", "int hex hex hex")
def sys_wait4(t, pid, wstatus, options, rusage, *_):
    r = t.kernel.wait4(t, s32(pid), s32(options))
    if r is None:
        return None
    cpid, status = r
    if cpid and wstatus:
        write_user(t, wstatus, struct.pack("<i", status))
    if cpid and rusage:
        write_user(t, rusage, b"\0" * 144)
    return cpid


P_ALL, P_PID, P_PGID = 0, 1, 2


@syscall("waitid", "int int hex hex hex")
def sys_waitid(t, idtype, id_, infop, options, rusage, *_):
    from akuma.kernel.lifecycle import WNOHANG, WEXITED, WNOWAIT, _cld_code, _cld_status
    idtype, id_, options = s32(idtype), s32(id_), s32(options)
    if not options & WEXITED or options & WNOWAIT:
        return -EINVAL
    pid = {P_ALL: -1, P_PID: id_, P_PGID: -id_ if id_ else 0}.get(idtype)
    if pid is None:
        return -EINVAL
    r = t.kernel.wait4(t, pid, options & WNOHANG)
    if r is None:
        return None
    cpid, status = r
    if infop:
        info = bytearray(128)
        if cpid:
            struct.pack_into("<iiiiiIi", info, 0, 17, 0, _cld_code(status), 0, cpid, 0,
                             _cld_status(status))
        write_user(t, infop, bytes(info))
    return 0


# -- futex -------------------------------------------------------------------------------

@syscall("futex", "hex int int hex hex int")
def sys_futex(t, uaddr, op, val, timeout, uaddr2, val3, *_):
    from akuma.kernel import futex as FX
    import time as _time
    k = t.kernel
    op = s32(op)
    private = bool(op & FX.FUTEX_PRIVATE_FLAG)
    cmd = op & 0x7F
    if cmd in (FX.FUTEX_WAIT, FX.FUTEX_WAIT_BITSET):
        deadline = None
        if getattr(t, "futex_state", None) is None and timeout:
            sec, nsec = struct.unpack("<qq", read_user(t, timeout, 16))
            if sec < 0 or not 0 <= nsec < 1_000_000_000:
                return -EINVAL
            ns = sec * 1_000_000_000 + nsec
            if cmd == FX.FUTEX_WAIT:
                deadline = _time.monotonic() + ns / 1e9
            elif op & FX.FUTEX_CLOCK_REALTIME:
                deadline = _time.monotonic() + (ns - _time.time_ns()) / 1e9
            else:
                # Absolute CLOCK_MONOTONIC as the guest sees it (since boot).
                deadline = (ns + k.boot_ns) / 1e9
        bitset = val3 & 0xFFFFFFFF if cmd == FX.FUTEX_WAIT_BITSET else FX.BITSET_ANY
        return k.futex_wait(t, uaddr, val, deadline, bitset, private)
    if cmd in (FX.FUTEX_WAKE, FX.FUTEX_WAKE_BITSET):
        bitset = val3 & 0xFFFFFFFF if cmd == FX.FUTEX_WAKE_BITSET else FX.BITSET_ANY
        if bitset == 0:
            return -EINVAL
        return k.futex_wake(t.process, uaddr, s32(val) if s32(val) > 0 else 0, bitset, private)
    if cmd in (FX.FUTEX_REQUEUE, FX.FUTEX_CMP_REQUEUE):
        return k.futex_requeue(t, uaddr, s32(val), timeout & 0x7FFFFFFF, uaddr2,
                               val3 if cmd == FX.FUTEX_CMP_REQUEUE else None, private)
    if cmd == FX.FUTEX_WAKE_OP:
        return k.futex_wake_op(t, uaddr, s32(val), timeout & 0x7FFFFFFF, uaddr2,
                               val3 & 0xFFFFFFFF, private)
    return -38   # ENOSYS: PI futexes


# -- unshare ---------------------------------------------------------------------------------
_UNSHARE_FS, _UNSHARE_FILES, _UNSHARE_SYSVSEM = 0x200, 0x400, 0x40000
_UNSHARE_VM, _UNSHARE_SIGHAND, _UNSHARE_THREAD = 0x100, 0x800, 0x10000
_NAMESPACES = 0x7E020080        # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME


@syscall("unshare", "hex")
def sys_unshare(t, flags, *_):
    """Stop sharing the fs context or the fd table with other processes.
    Namespaces do not exist here (EINVAL, as a kernel built without them);
    VM/SIGHAND/THREAD are only possible for a single-threaded process."""
    known = _UNSHARE_FS | _UNSHARE_FILES | _UNSHARE_SYSVSEM | _UNSHARE_VM | \
        _UNSHARE_SIGHAND | _UNSHARE_THREAD | _NAMESPACES
    if flags & ~known or flags & _NAMESPACES:
        return -EINVAL
    p = t.process
    if flags & (_UNSHARE_VM | _UNSHARE_SIGHAND | _UNSHARE_THREAD):
        if len([x for x in p.threads if x.state != "Z"]) > 1:
            return -EINVAL
    if flags & _UNSHARE_FS:
        p.fs = p.fs.copy()
    if flags & _UNSHARE_FILES and getattr(p.fds, "users", 1) > 1:
        p.fds.users -= 1
        p.fds = p.fds.copy()
    return 0
