"""POSIX per-process timers (timer_create and friends), after Linux's
kernel/time/posix-timers.c and posix-cpu-timers.c.

A timer counts on a wall clock (REALTIME, MONOTONIC, BOOTTIME, TAI: the
scheduler's Timer/arm machinery) or on a CPU-time clock (a process's or a
thread's: Signals.charge_itimers checks them after every slice, like
ITIMER_VIRTUAL/PROF; they sit in the clock owner's ``itimers`` under
POSIX_CPU while armed, which also makes the kernel loop charge that
process).

Expiry queues the timer's signal (si_code SI_TIMER) unless its previous
one is still pending.  A periodic timer is not rearmed while its signal is
pending: when the signal is taken (dequeue_signal calls ``dequeued``),
the expiry moves past now and the periods it skipped become si_overrun
(and timer_getoverrun), as Linux's posixtimer_rearm does."""
import time as _time

from akuma.sched import Timer, ZOMBIE
from akuma.kernel.signals import SI_TIMER
from akuma.kernel.syscalls.time import clock_ns

SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
DELAYTIMER_MAX = 2**31 - 1
KTIME_MAX = 2**63 - 1
NSEC = 1_000_000_000
CPUCLOCK_PROF, CPUCLOCK_VIRT, CPUCLOCK_SCHED = 0, 1, 2
POSIX_CPU = "posix-cpu"         # key in Process.itimers: {timer: True} armed on its CPU clock
TICK_NSEC = 4_000_000           # an ignored periodic signal ticks at most this often


class PosixTimer:
    """One timer of ``process``: ``clock`` is a wall clock id (clock_ns's)
    or None with ``cpu`` = (clock process, clock thread or None, which)."""

    def __init__(self, kernel, process, timer_id, clock, cpu, notify, signo, value, target):
        self.k = kernel
        self.p = process
        self.id = timer_id
        self.clock = clock
        self.cpu = cpu
        self.notify = notify
        self.signo = signo
        self.value = value
        self.target = target            # the Task of SIGEV_THREAD_ID
        self.interval = 0
        self.expiry = None              # ns on its clock; None while disarmed
        self.active = False             # counting toward the expiry (it_active)
        self.requeue = False            # periodic, fired: rearmed when its signal is taken
        self.gen = 0                    # bumped by every settime (it_signal_seq)
        self.overrun = -1               # it_overrun: periods skipped since the last rearm - 1
        self.overrun_last = 0           # what timer_getoverrun reports
        self.info = None                # the siginfo of its pending signal
        self.fired = None               # the expiry that fired last
        self.deleted = False
        self.timer = Timer(self._wakeup) if cpu is None else None

    @property
    def sig_none(self):
        return self.notify == SIGEV_NONE

    # -- the clock ---------------------------------------------------------------
    def now(self):
        if self.cpu is None:
            return clock_ns(self.k, self.clock)
        proc, thread, which = self.cpu
        if thread is not None:
            user, system = thread.utime_ns, thread.stime_ns
        else:
            user, system = proc.cpu_times()
        return user if which == CPUCLOCK_VIRT else user + system

    def _forward(self, now):
        """Move the expiry past ``now`` by whole intervals; how many
        (hrtimer_forward)."""
        delta = now - self.expiry
        if delta < 0 or not self.interval:
            return 0
        n = delta // self.interval + 1
        self.expiry = min(self.expiry + n * self.interval, KTIME_MAX)
        return n

    def _schedule(self, now):
        self.active = True
        if self.cpu is None:
            # (The scheduler caps each idle wait itself: any deadline is fine.)
            self.k.sched.arm(self.timer, _time.monotonic() + max(0, self.expiry - now) / NSEC)
        else:
            self.cpu[0].itimers.setdefault(POSIX_CPU, {})[self] = True

    def _unschedule(self):
        self.active = False
        if self.cpu is None:
            self.k.sched.arm(self.timer, None)
        else:
            itimers = self.cpu[0].itimers
            armed = itimers.get(POSIX_CPU)
            if armed is not None:
                armed.pop(self, None)
                if not armed:
                    del itimers[POSIX_CPU]

    # -- timer_settime / timer_gettime -------------------------------------------
    def get(self):
        """(interval ns, ns left): Linux's common_timer_get."""
        if self.expiry is None or (not self.interval and not self.active and not self.sig_none):
            return self.interval, 0
        now = self.now()
        if self.interval and (self.requeue or self.sig_none):
            self.overrun += self._forward(now)
        left = self.expiry - now
        if left <= 0:
            # A signal not yet delivered: about to expire (SIGEV_NONE: expired).
            return self.interval, 0 if self.sig_none else 1
        return self.interval, left

    def set(self, interval, value, absolute):
        """Arm (``value`` > 0, ns from now or on the clock when
        ``absolute``) or disarm.  A signal of the previous setting still
        pending is dropped."""
        self._unschedule()
        self._drop_pending()
        self.gen += 1
        self.requeue = False
        self.overrun, self.overrun_last = -1, 0
        self.interval = 0
        if not value:
            self.expiry = None
            return
        self.interval = min(interval, KTIME_MAX)
        now = self.now()
        self.expiry = min(value if absolute else now + value, KTIME_MAX)
        if not self.sig_none:
            self._schedule(now)

    def getoverrun(self):
        return min(self.overrun_last, DELAYTIMER_MAX)

    def delete(self):
        self.deleted = True
        self._unschedule()
        self._drop_pending()
        self.expiry = None

    def _drop_pending(self):
        if self.info is not None:
            self.k.unqueue_signal(self.p, self.info)
            self.info = None

    # -- expiry -------------------------------------------------------------------------
    def charge(self):
        """A CPU-clock timer after a slice of its clock's process."""
        if self.expiry is not None and self.now() >= self.expiry:
            self._expire()

    def _wakeup(self):
        """The scheduler's Timer of a wall-clock timer."""
        self._expire()

    def _expire(self):
        self._unschedule()
        if self.deleted or not self.p.alive or self.expiry is None or self.sig_none:
            return
        self.fired = self.expiry
        if self.info is not None:
            # Its signal is still pending (only after a settime raced with it).
            self.info["overrun"] += 1
            self.info["gen"] = self.gen
            self.requeue = bool(self.interval)
            return
        self.requeue = bool(self.interval)
        if self._send() is False and self.interval:
            # Ignored: nothing will take it, so keep ticking (counting
            # overruns) in case a handler is installed later.
            now = max(self.now(), self.expiry)
            self.requeue = False
            self.overrun += self._forward(now + max(0, TICK_NSEC - self.interval))
            self._schedule(now)

    def _send(self):
        """Queue the signal: True, False when it is ignored, None when its
        target thread is gone."""
        target = None
        if self.notify & SIGEV_THREAD_ID:
            target = self.target
            if target.state == ZOMBIE or target not in self.p.threads:
                return None
        info = dict(code=SI_TIMER, tid=self.id, overrun=0, value=self.value, timer=self,
                    gen=self.gen)
        if self.k.send_signal(self.p, self.signo, code=SI_TIMER, task=target, info=info):
            if self.p.alive and not self.deleted:
                self.info = info
            return True
        return False

    def dequeued(self, info):
        """Its signal was taken (delivered, sigtimedwait, signalfd): rearm a
        periodic timer past now and report the skipped periods
        (posixtimer_rearm)."""
        if self.info is info:
            self.info = None
        if not self.deleted and info.get("gen") == self.gen and self.requeue:
            now = self.now()
            if self.expiry == self.fired:
                # Not moved since it fired: it has passed, whatever a clock
                # read a hair early (a float deadline) says.
                now = max(now, self.expiry)
            self.overrun += self._forward(now)
            self.requeue = False
            self._schedule(now)
            self.overrun_last, self.overrun = self.overrun, -1
            info["overrun"] += self.overrun_last
        info["overrun"] = min(info["overrun"], DELAYTIMER_MAX)


def exit_timers(p, exiting=False):
    """Delete every timer of ``p`` (execve, exit: Linux's exit_itimers).
    At exit, timers of other processes on its CPU clock stop for good
    (posix_cpu_timers_exit_group: they read as disarmed)."""
    timers, p.posix_timers = p.posix_timers, {}
    for timer in timers.values():
        timer.delete()
    if exiting:
        for timer in list(p.itimers.get(POSIX_CPU, ())):
            timer._unschedule()
            timer.expiry = None


__all__ = ["PosixTimer", "exit_timers", "POSIX_CPU", "SI_TIMER", "SIGEV_SIGNAL", "SIGEV_NONE",
           "SIGEV_THREAD", "SIGEV_THREAD_ID", "CPUCLOCK_PROF", "CPUCLOCK_VIRT",
           "CPUCLOCK_SCHED", "DELAYTIMER_MAX", "KTIME_MAX"]
