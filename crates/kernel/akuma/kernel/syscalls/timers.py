"""Interval timers (setitimer/getitimer: ITIMER_REAL on the scheduler's
clock, ITIMER_VIRTUAL and ITIMER_PROF on the process's CPU time), POSIX
timers (timer_create and friends: akuma.kernel.posixtimers) and resource
usage (getrusage, times)."""
import struct
import time as _time

from akuma.abi import KernelError
from akuma.abi import signals as S
from akuma.abi.errors import EINVAL, EAGAIN, EPERM, EOPNOTSUPP
from akuma.sched import Timer, ZOMBIE
from akuma.kernel.posixtimers import (PosixTimer, SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD,
                                      SIGEV_THREAD_ID, CPUCLOCK_SCHED, KTIME_MAX)
from akuma.kernel.rlimit import RLIMIT_SIGPENDING
from akuma.kernel.syscalls.args import s32, read_user, write_user
from akuma.kernel.syscalls.registry import syscall
from akuma.kernel.syscalls.time import (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME,
                                        CLOCK_TAI, CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM,
                                        CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
                                        CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
                                        CLOCK_MONOTONIC_COARSE, TIMER_ABSTIME, NSEC)

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


# -- POSIX timers -------------------------------------------------------------------------

# Clocks a timer can count on -> the clock it reads (alarm clocks: their base).
_WALL = {CLOCK_REALTIME: CLOCK_REALTIME, CLOCK_MONOTONIC: CLOCK_MONOTONIC,
         CLOCK_BOOTTIME: CLOCK_BOOTTIME, CLOCK_TAI: CLOCK_TAI,
         CLOCK_REALTIME_ALARM: CLOCK_REALTIME, CLOCK_BOOTTIME_ALARM: CLOCK_BOOTTIME}
_ALARM = (CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM)
# Clocks Linux reads but cannot time on (no timer_create): EOPNOTSUPP.
_NO_TIMERS = (CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE)
CLOCKFD = 3                     # clock ids < 0: (~pid << 3) | perthread << 2 | which
CPUCLOCK_PERTHREAD, CPUCLOCK_MAX = 4, 3
SIGEV_SIZE = 64                 # sizeof(struct sigevent), copied whole
TIMER_ID_MASK = 2**31 - 1


def _timer_id(p):
    """The next free id: Linux counts on from the last one handed out
    (next_posix_timer_id), wrapping in the positive ints."""
    while True:
        tid = p.next_timer_id
        p.next_timer_id = (tid + 1) & TIMER_ID_MASK
        if tid not in p.posix_timers:
            return tid


def _cpu_clock(t, clk):
    """(clock process, clock thread or None, which) for a CPU-time clock,
    or None (EINVAL): Linux's pid_for_clock for a timer."""
    if clk == CLOCK_PROCESS_CPUTIME_ID:
        clk = ~0 << 3 | CPUCLOCK_SCHED                         # MAKE_PROCESS_CPUCLOCK(0, SCHED)
    elif clk == CLOCK_THREAD_CPUTIME_ID:
        clk = ~0 << 3 | CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED    # MAKE_THREAD_CPUCLOCK(0, SCHED)
    which, pid, p = clk & 3, ~(clk >> 3), t.process
    if which >= CPUCLOCK_MAX:
        return None
    if clk & CPUCLOCK_PERTHREAD:
        thread = t if pid == 0 else t.kernel.tasks.get(pid)
        if thread is None or thread.process is not p:
            return None
        return p, thread, which
    proc = p if pid == 0 else t.kernel.processes.get(pid)
    return (proc, None, which) if proc is not None else None


def _sigevent(t, raw, timer_id):
    """(notify, signo, value, target thread) of a struct sigevent (NULL:
    SIGALRM with the timer id as value), or None (EINVAL): good_sigevent."""
    if raw is None:
        return SIGEV_SIGNAL, S.SIGALRM, timer_id, None
    value, signo, notify, tid = struct.unpack_from("<Qiii", raw)
    target = None
    if notify == SIGEV_THREAD_ID:               # SIGEV_SIGNAL | SIGEV_THREAD_ID
        target = t.kernel.tasks.get(tid)
        if target is None or target.process is not t.process or target.state == ZOMBIE:
            return None
    if notify in (SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID):
        if not 1 <= signo <= S.NSIG:
            return None
    elif notify != SIGEV_NONE:
        return None
    return notify, signo, value, target


@syscall("timer_create", "int hex hex")
def sys_timer_create(t, clk, sevp, idp, *_):
    clk = s32(clk)
    p = t.process
    raw = read_user(t, sevp, SIGEV_SIZE) if sevp else None
    if clk < 0:
        if clk & 7 == CLOCKFD:
            return -EOPNOTSUPP                  # dynamic (fd) clocks have no timers
    elif clk in _NO_TIMERS:
        return -EOPNOTSUPP
    elif clk not in _WALL and clk not in (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID):
        return -EINVAL
    if len(p.posix_timers) >= p.rlimits[RLIMIT_SIGPENDING][0]:
        return -EAGAIN                          # each timer preallocates a sigqueue
    # From here a failure has used up the id (as in Linux).
    timer_id = _timer_id(p)
    event = _sigevent(t, raw, timer_id)
    if event is None:
        return -EINVAL
    write_user(t, idp, struct.pack("<i", timer_id))
    clock = cpu = None
    if clk in _WALL:
        if clk in _ALARM and p.creds.euid != 0:
            return -EPERM                       # CAP_WAKE_ALARM
        clock = _WALL[clk]
    else:
        cpu = _cpu_clock(t, clk)
        if cpu is None:
            return -EINVAL
    notify, signo, value, target = event
    p.posix_timers[timer_id] = PosixTimer(t.kernel, p, timer_id, clock, cpu, notify, signo,
                                          value, target)
    return 0


def _posix_timer(t, timer_id):
    timer = t.process.posix_timers.get(s32(timer_id))
    if timer is None:
        raise KernelError(EINVAL)
    return timer


def _itimerspec(interval, value):
    return struct.pack("<qqqq", interval // NSEC, interval % NSEC, value // NSEC, value % NSEC)


def _timespec_ns(sec, nsec):
    """ns of a valid timespec (saturating at KTIME_MAX), or None."""
    if sec < 0 or not 0 <= nsec < NSEC:
        return None
    return min(sec * NSEC + nsec, KTIME_MAX)


@syscall("timer_settime", "int int hex hex")
def sys_timer_settime(t, timer_id, flags, new, old, *_):
    if not new:
        return -EINVAL
    isec, insec, vsec, vnsec = struct.unpack("<qqqq", read_user(t, new, 32))
    interval, value = _timespec_ns(isec, insec), _timespec_ns(vsec, vnsec)
    if interval is None or value is None:
        return -EINVAL
    timer = _posix_timer(t, timer_id)
    previous = timer.get() if old else None
    timer.set(interval, value, s32(flags) & TIMER_ABSTIME)
    if old:
        write_user(t, old, _itimerspec(*previous))
    return 0


@syscall("timer_gettime", "int hex")
def sys_timer_gettime(t, timer_id, cur, *_):
    write_user(t, cur, _itimerspec(*_posix_timer(t, timer_id).get()))
    return 0


@syscall("timer_getoverrun", "int")
def sys_timer_getoverrun(t, timer_id, *_):
    return _posix_timer(t, timer_id).getoverrun()


@syscall("timer_delete", "int")
def sys_timer_delete(t, timer_id, *_):
    _posix_timer(t, timer_id)
    t.process.posix_timers.pop(s32(timer_id)).delete()
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
