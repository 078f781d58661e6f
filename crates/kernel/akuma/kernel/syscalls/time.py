"""Clocks and sleeping."""
import struct
import time as _time

from akuma.abi.errors import EINVAL
from akuma.kernel.syscalls.args import s32, read_user, write_user
from akuma.kernel.syscalls.registry import syscall

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 0, 1, 2, 3
CPUCLOCK_VIRT = 1               # user time only (the other CPU clocks: user + system)
CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME = 4, 5, 6, 7
CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM, CLOCK_TAI = 8, 9, 11
TIMER_ABSTIME = 1
NSEC = 1_000_000_000

_REALTIME = {CLOCK_REALTIME, CLOCK_REALTIME_COARSE, CLOCK_REALTIME_ALARM, CLOCK_TAI}
_MONOTONIC = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
              CLOCK_BOOTTIME_ALARM}


def clock_ns(k, clk):
    """Now on clock ``clk`` in ns, or None for an unknown clock."""
    if clk in _REALTIME:
        return _time.time_ns()
    if clk in _MONOTONIC:
        return _time.monotonic_ns() - k.boot_ns
    if clk in (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID):
        return _time.thread_time_ns()
    return None


def _timespec(ns):
    return struct.pack("<qq", ns // NSEC, ns % NSEC)


def cpu_clock_ns(t, clk):
    """The guest's CPU time on a CPU-time clock — this process's or
    thread's, or another's by clock id (clock_getcpuclockid) — including
    the slice running now; None if ``clk`` names none."""
    from akuma.kernel.syscalls.timers import _cpu_clock     # (it imports this module)
    owner = _cpu_clock(t, clk)
    if owner is None:
        return None
    proc, thread, which = owner
    k = t.kernel
    running = k.cpu.task
    if thread is not None:
        user, system = thread.utime_ns, thread.stime_ns
        mine = running is thread
    else:
        user, system = proc.cpu_times()
        mine = running is not None and running.process is proc
    now = k.slice_ns() if mine else 0
    return user + now if which == CPUCLOCK_VIRT else user + system + now


def _clock_now(t, clk):
    if clk < 0 or clk in (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID):
        return cpu_clock_ns(t, clk)
    return clock_ns(t.kernel, clk)


@syscall("clock_gettime", "int hex")
def sys_clock_gettime(t, clk, tp, *_):
    ns = _clock_now(t, s32(clk))
    if ns is None:
        return -EINVAL
    write_user(t, tp, _timespec(ns))
    return 0


@syscall("clock_getres", "int hex")
def sys_clock_getres(t, clk, res, *_):
    if _clock_now(t, s32(clk)) is None:
        return -EINVAL
    if res:
        coarse = s32(clk) in (CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE)
        write_user(t, res, _timespec(4_000_000 if coarse else 1))
    return 0


@syscall("gettimeofday", "hex hex")
def sys_gettimeofday(t, tv, tz, *_):
    if tv:
        ns = _time.time_ns()
        write_user(t, tv, struct.pack("<qq", ns // NSEC, (ns % NSEC) // 1000))
    if tz:
        write_user(t, tz, b"\0" * 8)
    return 0


def _read_timespec(t, addr):
    sec, nsec = struct.unpack("<qq", read_user(t, addr, 16))
    if sec < 0 or not 0 <= nsec < NSEC:
        return None
    return sec * NSEC + nsec


def _sleep_until(t, deadline_mono_ns):
    """Block until the monotonic deadline; the SVC re-runs on wake and
    finds the deadline passed."""
    if _time.monotonic_ns() >= deadline_mono_ns:
        t.sleep_deadline = None
        return 0
    t.sleep_deadline = deadline_mono_ns
    t.kernel.sched.block(t, deadline=deadline_mono_ns / NSEC)
    return None


@syscall("nanosleep", "hex hex")
def sys_nanosleep(t, req, rem, *_):
    if t.sleep_deadline is None:
        dur = _read_timespec(t, req)
        if dur is None:
            return -EINVAL
        return _sleep_until(t, _time.monotonic_ns() + dur)
    return _sleep_until(t, t.sleep_deadline)


@syscall("clock_nanosleep", "int int hex hex")
def sys_clock_nanosleep(t, clk, flags, req, rem, *_):
    clk = s32(clk)
    if t.sleep_deadline is not None:
        return _sleep_until(t, t.sleep_deadline)
    if clk in (CLOCK_THREAD_CPUTIME_ID,) or clock_ns(t.kernel, clk) is None:
        return -EINVAL
    when = _read_timespec(t, req)
    if when is None:
        return -EINVAL
    if s32(flags) & TIMER_ABSTIME:
        now = clock_ns(t.kernel, clk)
        when = max(0, when - now)
    return _sleep_until(t, _time.monotonic_ns() + when)

