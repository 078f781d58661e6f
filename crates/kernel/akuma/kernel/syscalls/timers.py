"""Interval timers (setitimer/getitimer: ITIMER_REAL on the scheduler's
clock, ITIMER_VIRTUAL and ITIMER_PROF on the process's CPU time) and
resource usage (getrusage, times)."""
import struct
import time as _time

from akuma.abi import signals as S
from akuma.abi.errors import EINVAL
from akuma.sched import Timer
from akuma.kernel.syscalls.args import s32, read_user, write_user
from akuma.kernel.syscalls.registry import syscall

ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2
_SIGNAL = {ITIMER_REAL: S.SIGALRM, ITIMER_VIRTUAL: S.SIGVTALRM, ITIMER_PROF: S.SIGPROF}
USEC = 1000
CLK_TCK = 100


def _tv(ns):
    return ns // 1_000_000_000, (ns % 1_000_000_000) // USEC


def _remaining(p, which):
    entry = p.itimers.get(which)
    if entry is None:
        return 0, 0
    interval, state = entry
    if which == ITIMER_REAL:
        if not state.armed:
            return interval, 0
        return interval, max(1000, int((state.deadline - _time.monotonic()) * 1e9))
    return interval, state


def arm_itimer(k, p, which, interval_ns, value_ns):
    """Arm (value_ns > 0) or disarm one of ``p``'s interval timers."""
    if which == ITIMER_REAL:
        entry = p.itimers.get(which)
        timer = entry[1] if entry else Timer(lambda: _fire_real(k, p))
        k.sched.arm(timer, _time.monotonic() + value_ns / 1e9 if value_ns else None)
        p.itimers[which] = (interval_ns, timer)
        if not value_ns:
            del p.itimers[which]
    elif value_ns:
        p.itimers[which] = (interval_ns, value_ns)
    else:
        p.itimers.pop(which, None)


def _fire_real(k, p):
    if not p.alive:
        return
    interval, timer = p.itimers.get(ITIMER_REAL, (0, None))
    k.send_signal(p, S.SIGALRM, code=0x80)              # SI_KERNEL
    if interval and timer is not None:
        k.sched.arm(timer, _time.monotonic() + interval / 1e9)
    else:
        p.itimers.pop(ITIMER_REAL, None)


@syscall("setitimer", "int hex hex")
def sys_setitimer(t, which, new, old, *_):
    which = s32(which)
    if which not in _SIGNAL:
        return -EINVAL
    p = t.process
    if old:
        sys_getitimer(t, which, old)
    if not new:
        return 0
    isec, iusec, vsec, vusec = struct.unpack("<qqqq", read_user(t, new, 32))
    if min(isec, vsec) < 0 or not 0 <= iusec < 1_000_000 or not 0 <= vusec < 1_000_000:
        return -EINVAL
    arm_itimer(t.kernel, p, which, isec * 10**9 + iusec * USEC, vsec * 10**9 + vusec * USEC)
    return 0


@syscall("getitimer", "int hex")
def sys_getitimer(t, which, cur, *_):
    which = s32(which)
    if which not in _SIGNAL:
        return -EINVAL
    interval, value = _remaining(t.process, which)
    write_user(t, cur, struct.pack("<qqqq", *_tv(interval), *_tv(value)))
    return 0


RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1


@syscall("getrusage", "int hex")
def sys_getrusage(t, who, usage, *_):
    who = s32(who)
    p = t.process
    if who == RUSAGE_SELF:
        user, system = p.cpu_times()
    elif who == RUSAGE_THREAD:
        user, system = t.utime_ns, t.stime_ns
    elif who == RUSAGE_CHILDREN:
        user, system = p.child_utime_ns, p.child_stime_ns
    else:
        return -EINVAL
    maxrss_kb = p.aspace.rss_pages * 4 if p.aspace is not None and who != RUSAGE_CHILDREN else 0
    fields = [0] * 14
    fields[0] = maxrss_kb
    write_user(t, usage, struct.pack("<qqqq14q", *_tv(user), *_tv(system), *fields))
    return 0


@syscall("times", "hex")
def sys_times(t, buf, *_):
    p = t.process
    k = t.kernel
    if buf:
        tick = 10**9 // CLK_TCK
        user, system = p.cpu_times()
        write_user(t, buf, struct.pack("<qqqq", user // tick, system // tick,
                                       p.child_utime_ns // tick, p.child_stime_ns // tick))
    return (_time.monotonic_ns() - k.boot_ns) // (10**9 // CLK_TCK)
