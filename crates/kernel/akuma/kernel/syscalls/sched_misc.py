"""Scheduling policy, capabilities, memory locking, mincore, membarrier and
I/O priorities, with Linux's argument checks and errnos.

There is one CPU and no real-time scheduling: a policy and priority are
recorded per process (inherited by fork, kept over exec) and reported back.
Capabilities: a process whose effective uid is 0 has every capability
(CAP_LAST_CAP 40) unless it dropped some with capset; other uids have none.
Memory is never swapped, so mlock only checks its arguments and
RLIMIT_MEMLOCK (and faults the pages in, as Linux does)."""
import struct

from akuma.abi.errors import EINVAL, ENOMEM, EPERM, ESRCH
from akuma.mm import PAGE_SIZE, PROT_WRITE, KIND_ANON_SHARED, ACCESS_READ, ACCESS_WRITE
from akuma.kernel.rlimit import RLIMIT_MEMLOCK, RLIMIT_NICE, RLIMIT_RTPRIO
from akuma.kernel.syscalls.args import s32, read_user, write_user
from akuma.kernel.syscalls.registry import syscall
from akuma.kernel.syscalls.process import find_process, prio_targets

USER_TOP = 1 << 48

# -- process lookup and capabilities ---------------------------------------------------
CAP_LAST_CAP = 40
CAP_FULL = (1 << (CAP_LAST_CAP + 1)) - 1
CAP_SETPCAP, CAP_IPC_LOCK, CAP_SYS_NICE = 8, 14, 23


def caps_of(p):
    """(effective, permitted, inheritable): what capset left, seen through
    the uids (a non-zero euid has no effective capabilities, and with no uid
    0 left there are none permitted either)."""
    eff, perm, inh = p.caps if p.caps is not None else (CAP_FULL, CAP_FULL, 0)
    c = p.creds
    if c.euid != 0:
        eff = 0
    if c.uid != 0 and c.euid != 0 and c.suid != 0:
        perm = eff = 0
    return eff, perm, inh


def capable(p, cap):
    return bool(caps_of(p)[0] >> cap & 1)


def inherit(parent, child):
    """fork: policy, priority, I/O priority and capabilities carry over;
    SCHED_RESET_ON_FORK puts a real-time parent's child back on SCHED_OTHER
    and a negative nice back to 0 (and is not inherited)."""
    child.sched_policy, child.sched_priority = parent.sched_policy, parent.sched_priority
    child.ioprio, child.caps = parent.ioprio, parent.caps
    if parent.sched_reset_on_fork:
        if parent.sched_policy in (SCHED_FIFO, SCHED_RR):
            child.sched_policy, child.sched_priority = SCHED_OTHER, 0
        if child.nice < 0:
            child.nice = 0


# -- scheduling policy ---------------------------------------------------------------------
SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE = range(7)
SCHED_RESET_ON_FORK = 0x40000000
MAX_RT_PRIO = 100
RR_TIMESLICE_NS = 100_000_000       # sched_rr_timeslice_ms = 100
_RT = (SCHED_FIFO, SCHED_RR)
_VALID = (SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE)


@syscall("sched_get_priority_max", "int")
def sys_sched_get_priority_max(t, policy, *_):
    policy = s32(policy)
    if policy in _RT:
        return MAX_RT_PRIO - 1
    return 0 if policy in _VALID else -EINVAL


@syscall("sched_get_priority_min", "int")
def sys_sched_get_priority_min(t, policy, *_):
    policy = s32(policy)
    if policy in _RT:
        return 1
    return 0 if policy in _VALID else -EINVAL


@syscall("sched_getscheduler", "int")
def sys_sched_getscheduler(t, pid, *_):
    pid = s32(pid)
    if pid < 0:
        return -EINVAL
    p = find_process(t, pid)
    if p is None:
        return -ESRCH
    return p.sched_policy | (SCHED_RESET_ON_FORK if p.sched_reset_on_fork else 0)


@syscall("sched_getparam", "int hex")
def sys_sched_getparam(t, pid, param, *_):
    pid = s32(pid)
    if not param or pid < 0:
        return -EINVAL
    p = find_process(t, pid)
    if p is None:
        return -ESRCH
    write_user(t, param, struct.pack("<i", p.sched_priority))
    return 0


def _may_change(t, p, policy, prio, reset):
    """user_check_sched_setscheduler: what an unprivileged caller may do
    without CAP_SYS_NICE."""
    c = t.process.creds
    if policy in _RT:
        rtprio = p.rlimits[RLIMIT_RTPRIO][0]
        if policy != p.sched_policy and not rtprio:
            return False
        if prio > p.sched_priority and prio > rtprio:
            return False
    if policy == SCHED_DEADLINE:
        return False
    if p.sched_policy == SCHED_IDLE and policy != SCHED_IDLE and \
            20 - p.nice > p.rlimits[RLIMIT_NICE][0]:
        return False
    if c.euid not in (p.creds.uid, p.creds.euid):
        return False
    if p.sched_reset_on_fork and not reset:
        return False
    return True


def _setscheduler(t, pid, policy, param):
    pid = s32(pid)
    if not param or pid < 0:
        return -EINVAL
    prio = struct.unpack("<I", read_user(t, param, 4))[0]   # u32 in sched_attr
    p = find_process(t, pid)
    if p is None:
        return -ESRCH
    if policy < 0:                      # sched_setparam: the current policy
        policy, reset = p.sched_policy, p.sched_reset_on_fork
    else:
        reset = bool(policy & SCHED_RESET_ON_FORK)
        policy &= ~SCHED_RESET_ON_FORK
        if policy not in _VALID:
            return -EINVAL
    if prio > MAX_RT_PRIO - 1:
        return -EINVAL
    if policy == SCHED_DEADLINE or (policy in _RT) != (prio != 0):
        return -EINVAL              # (a deadline task needs sched_setattr's runtime)
    if not _may_change(t, p, policy, prio, reset) and not capable(t.process, CAP_SYS_NICE):
        return -EPERM
    p.sched_policy, p.sched_priority, p.sched_reset_on_fork = policy, prio, reset
    return 0


@syscall("sched_setscheduler", "int int hex")
def sys_sched_setscheduler(t, pid, policy, param, *_):
    policy = s32(policy)
    if policy < 0:
        return -EINVAL
    return _setscheduler(t, pid, policy, param)


@syscall("sched_setparam", "int hex")
def sys_sched_setparam(t, pid, param, *_):
    return _setscheduler(t, pid, -1, param)


@syscall("sched_rr_get_interval", "int hex")
def sys_sched_rr_get_interval(t, pid, tp, *_):
    """SCHED_RR's time slice (100 ms); 0 for FIFO, and 0 for the fair
    policies too (Linux reports the fair slice in whole jiffies: 0 with
    HZ=250 and the base slice of 0.75 ms per CPU factor)."""
    pid = s32(pid)
    if pid < 0:
        return -EINVAL
    p = find_process(t, pid)
    if p is None:
        return -ESRCH
    ns = RR_TIMESLICE_NS if p.sched_policy == SCHED_RR else 0
    write_user(t, tp, struct.pack("<qq", ns // 1_000_000_000, ns % 1_000_000_000))
    return 0


# -- capabilities -------------------------------------------------------------------------
CAP_V1, CAP_V2, CAP_V3 = 0x19980330, 0x20071026, 0x20080522


def _cap_header(t, hdrp):
    """(words to copy, pid) or -errno (cap_validate_magic: an unknown
    version is answered with the preferred one, written back)."""
    version, pid = struct.unpack("<Ii", read_user(t, hdrp, 8))
    if version == CAP_V1:
        return 1, pid
    if version in (CAP_V2, CAP_V3):
        return 2, pid
    write_user(t, hdrp, struct.pack("<I", CAP_V3))
    return -EINVAL, pid


@syscall("capget", "hex hex")
def sys_capget(t, hdrp, datap, *_):
    words, pid = _cap_header(t, hdrp)
    if not datap:                   # the version probe (an unknown one was answered)
        return 0
    if words < 0:
        return words
    if pid < 0:
        return -EINVAL
    p = find_process(t, pid)
    if p is None:
        return -ESRCH
    eff, perm, inh = caps_of(p)
    data = b"".join(struct.pack("<III", eff >> (32 * i) & 0xFFFFFFFF,
                                perm >> (32 * i) & 0xFFFFFFFF,
                                inh >> (32 * i) & 0xFFFFFFFF) for i in range(words))
    write_user(t, datap, data)
    return 0


@syscall("capset", "hex hex")
def sys_capset(t, hdrp, datap, *_):
    """Only another process's pid is refused (EPERM); the new sets may not
    add to the permitted set, the effective set must lie within the new
    permitted one, and the inheritable set within the old inheritable and
    permitted ones unless CAP_SETPCAP is effective."""
    words, pid = _cap_header(t, hdrp)
    if words < 0:
        return words
    if pid != 0 and pid != t.process.pid:
        return -EPERM
    raw = read_user(t, datap, 12 * words)
    eff = perm = inh = 0
    for i in range(words):
        e, p_, n = struct.unpack_from("<III", raw, 12 * i)
        eff |= e << (32 * i)
        perm |= p_ << (32 * i)
        inh |= n << (32 * i)
    eff, perm, inh = eff & CAP_FULL, perm & CAP_FULL, inh & CAP_FULL
    p = t.process
    old_eff, old_perm, old_inh = caps_of(p)
    if not old_eff >> CAP_SETPCAP & 1 and inh & ~(old_inh | old_perm):
        return -EPERM
    if perm & ~old_perm or eff & ~perm:
        return -EPERM
    p.caps = (eff, perm, inh)
    return 0


# -- memory locking and residency -----------------------------------------------------------
MLOCK_ONFAULT = 1
CHUNK_PAGES = 1 << 16           # mincore answers written per chunk
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4


def _covered(a, start, end):
    """Whether every page of [start, end) is inside a VMA."""
    pos = start
    for v in a.vmas:                # sorted by start
        if v.end <= pos:
            continue
        if v.start > pos:
            return False
        pos = v.end
        if pos >= end:
            return True
    return pos >= end


# Locked memory is kept as sorted, disjoint [start, end) ranges: a set of
# page addresses let one mlock of a wild 1 TiB range build 2^28 Python ints.
def _add_range(ranges, start, end):
    out = []
    for s, e in ranges:
        if e < start or s > end:
            out.append((s, e))
        else:
            start, end = min(s, start), max(e, end)
    out.append((start, end))
    ranges[:] = sorted(out)


def _sub_range(ranges, start, end):
    out = []
    for s, e in ranges:
        if e <= start or s >= end:
            out.append((s, e))
            continue
        if s < start:
            out.append((s, start))
        if e > end:
            out.append((end, e))
    ranges[:] = out


def _locked_bytes(p, extra=()):
    """Bytes locked now (still mapped), with ``extra`` ranges added."""
    ranges = list(p.mlocked)
    for s, e in extra:
        _add_range(ranges, s, e)
    total = 0
    for s, e in ranges:
        for v in p.aspace.vmas:
            total += max(0, min(v.end, e) - max(v.start, s))
    return total


def _mlock(t, start, length, onfault):
    p = t.process
    if not p.rlimits[RLIMIT_MEMLOCK][0] and not capable(p, CAP_IPC_LOCK):
        return -EPERM
    length = (length + (start & (PAGE_SIZE - 1)) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
    start &= ~(PAGE_SIZE - 1)
    end = start + length
    if end < start or end > (1 << 64):
        return -EINVAL
    a = p.aspace
    if not capable(p, CAP_IPC_LOCK) and \
            _locked_bytes(p, [(start, end)] if length else []) > p.rlimits[RLIMIT_MEMLOCK][0]:
        return -ENOMEM
    if not length:
        return 0
    if end > USER_TOP or not _covered(a, start, end):
        return -ENOMEM
    _add_range(p.mlocked, start, end)
    if not onfault:                 # mlock faults the pages in (writable private ones for write)
        for v in a.vmas:
            lo, hi = max(v.start, start), min(v.end, end)
            if lo >= hi or not v.prot:
                continue
            access = ACCESS_WRITE if v.prot & PROT_WRITE and v.kind != KIND_ANON_SHARED \
                else ACCESS_READ
            try:
                a.pt.populate(lo, hi, access)
            except Exception:       # (a file page past EOF, no memory: Linux stops there too)
                pass
    return 0


@syscall("mlock", "hex size")
def sys_mlock(t, addr, length, *_):
    return _mlock(t, addr, length, False)


@syscall("mlock2", "hex size hex")
def sys_mlock2(t, addr, length, flags, *_):
    if flags & ~MLOCK_ONFAULT:
        return -EINVAL
    return _mlock(t, addr, length, bool(flags & MLOCK_ONFAULT))


@syscall("munlock", "hex size")
def sys_munlock(t, addr, length, *_):
    length = (length + (addr & (PAGE_SIZE - 1)) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
    start = addr & ~(PAGE_SIZE - 1)
    end = start + length
    if end < start:
        return -EINVAL
    if not length:
        return 0
    if end > USER_TOP or not _covered(t.process.aspace, start, end):
        return -ENOMEM
    _sub_range(t.process.mlocked, start, end)
    return 0


@syscall("mlockall", "hex")
def sys_mlockall(t, flags, *_):
    flags = s32(flags)
    if not flags or flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) or flags == MCL_ONFAULT:
        return -EINVAL
    p = t.process
    if not p.rlimits[RLIMIT_MEMLOCK][0] and not capable(p, CAP_IPC_LOCK):
        return -EPERM
    if flags & MCL_CURRENT and not capable(p, CAP_IPC_LOCK) and \
            p.aspace.size_bytes // PAGE_SIZE > p.rlimits[RLIMIT_MEMLOCK][0] // PAGE_SIZE:
        return -ENOMEM
    if flags & MCL_CURRENT:
        for v in p.aspace.vmas:
            _add_range(p.mlocked, v.start, v.end)
    return 0


@syscall("munlockall")
def sys_munlockall(t, *_):
    t.process.mlocked.clear()
    return 0


@syscall("mincore", "hex size hex")
def sys_mincore(t, addr, length, vec, *_):
    """One byte per page: 1 if the page is in the page table (anonymous
    pages never touched, and file pages not yet faulted in here, are 0)."""
    if addr & (PAGE_SIZE - 1):
        return -EINVAL
    if addr + length > USER_TOP or addr + length < addr:
        return -ENOMEM
    end = addr + ((length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
    a = t.process.aspace
    # Only mapped pages can be answered: stop at the first hole (ENOMEM),
    # found from the VMAs, before any per-page work.
    covered = addr
    for v in a.vmas:
        if v.end <= covered:
            continue
        if v.start > covered or covered >= end:
            break
        covered = min(v.end, end)
    # The answers go out in chunks (a wild length must not build one huge buffer).
    va = addr
    while va < covered:
        chunk_end = min(covered, va + CHUNK_PAGES * PAGE_SIZE)
        out = bytes(1 if a.pt.present(x) is not None else 0
                    for x in range(va, chunk_end, PAGE_SIZE))
        write_user(t, vec + (va - addr) // PAGE_SIZE, out)
        va = chunk_end
    return -ENOMEM if covered < end else 0


# -- membarrier ---------------------------------------------------------------------------
MB_QUERY, MB_GLOBAL, MB_GLOBAL_EXPEDITED, MB_REGISTER_GLOBAL_EXPEDITED = 0, 1, 2, 4
MB_PRIVATE_EXPEDITED, MB_REGISTER_PRIVATE_EXPEDITED = 8, 16
MB_PRIVATE_EXPEDITED_SYNC_CORE, MB_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 32, 64
MB_PRIVATE_EXPEDITED_RSEQ, MB_GET_REGISTRATIONS = 128, 512
MB_FLAG_CPU = 1
# Everything but the rseq pair (no rseq here): with one CPU each barrier is
# already complete when the call is made.
MB_SUPPORTED = (MB_GLOBAL | MB_GLOBAL_EXPEDITED | MB_REGISTER_GLOBAL_EXPEDITED |
                MB_PRIVATE_EXPEDITED | MB_REGISTER_PRIVATE_EXPEDITED |
                MB_PRIVATE_EXPEDITED_SYNC_CORE | MB_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE |
                MB_GET_REGISTRATIONS)


@syscall("membarrier", "int hex int")
def sys_membarrier(t, cmd, flags, cpu_id, *_):
    """Registrations belong to the address space (a fork or exec starts
    without any)."""
    cmd, flags = s32(cmd), flags & 0xFFFFFFFF
    if cmd == MB_PRIVATE_EXPEDITED_RSEQ:
        if flags not in (0, MB_FLAG_CPU):
            return -EINVAL
    elif flags:
        return -EINVAL
    a = t.process.aspace
    state = getattr(a, "membarrier_registered", 0)
    if cmd == MB_QUERY:
        return MB_SUPPORTED
    if cmd in (MB_GLOBAL, MB_GLOBAL_EXPEDITED):
        return 0
    if cmd in (MB_REGISTER_GLOBAL_EXPEDITED, MB_REGISTER_PRIVATE_EXPEDITED,
               MB_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE):
        a.membarrier_registered = state | cmd
        return 0
    if cmd == MB_PRIVATE_EXPEDITED:
        return 0 if state & MB_REGISTER_PRIVATE_EXPEDITED else -EPERM
    if cmd == MB_PRIVATE_EXPEDITED_SYNC_CORE:
        return 0 if state & MB_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE else -EPERM
    if cmd == MB_GET_REGISTRATIONS:
        return state
    return -EINVAL


# -- I/O priorities -----------------------------------------------------------------------
IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER = 1, 2, 3    # PRIO_PROCESS.. + 1
IOPRIO_CLASS_NONE, IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE = 0, 1, 2, 3
IOPRIO_CLASS_SHIFT = 13
IOPRIO_NR_LEVELS = 8
IOPRIO_DEFAULT = IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT | 4


@syscall("ioprio_set", "int int hex")
def sys_ioprio_set(t, which, who, ioprio, *_):
    which, who, ioprio = s32(which), s32(who), s32(ioprio)
    cls, level = (ioprio >> IOPRIO_CLASS_SHIFT) & 7, ioprio & 7
    if cls == IOPRIO_CLASS_RT:
        if not capable(t.process, CAP_SYS_NICE) and not capable(t.process, 21):  # CAP_SYS_ADMIN
            return -EPERM
    elif cls == IOPRIO_CLASS_NONE:
        if level:
            return -EINVAL
    elif cls not in (IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE):
        return -EINVAL
    if which not in (IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER):
        return -EINVAL
    c = t.process.creds
    error = -ESRCH
    for p in prio_targets(t, which - IOPRIO_WHO_PROCESS, who):
        if p.creds.uid not in (c.euid, c.uid) and not capable(t.process, CAP_SYS_NICE):
            return -EPERM
        p.ioprio = ioprio & 0xFFFF
        error = 0
    return error


@syscall("ioprio_get", "int int")
def sys_ioprio_get(t, which, who, *_):
    """The I/O priority set (0, class NONE, for a process that never set
    one); for a group or user, Linux's ioprio_best over them: the lowest
    value, a NONE one counting as the default (BE, 4) once there are two."""
    which, who = s32(which), s32(who)
    if which not in (IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER):
        return -EINVAL
    best = -ESRCH
    for p in prio_targets(t, which - IOPRIO_WHO_PROCESS, who):
        if best == -ESRCH:
            best = p.ioprio
        else:
            best = min(_valid_or_default(best), _valid_or_default(p.ioprio))
    return best


def _valid_or_default(ioprio):
    return ioprio if ioprio >> IOPRIO_CLASS_SHIFT & 7 else IOPRIO_DEFAULT
