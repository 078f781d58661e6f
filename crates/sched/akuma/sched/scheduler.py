"""Run queue, sleeping and waiting.

One kernel thread runs everything: it picks a runnable thread, runs it on
the CPU until the tick or until it blocks, and when nothing is runnable it
sleeps in the selector until a host fd is ready, a timer expires, or a host
signal arrives (the signal module's wakeup fd)."""
import heapq
import selectors
import time

from akuma.sched.runq import RunQueue

RUNNABLE, BLOCKED, ZOMBIE, STOPPED = "R", "S", "Z", "T"
MAX_WAIT = 86400.0          # longest single idle wait, seconds


class Timer:
    """A callback at a monotonic deadline (interval timers, alarms)."""

    def __init__(self, fn):
        self.fn = fn
        self.deadline = None

    @property
    def armed(self):
        return self.deadline is not None


class Scheduler:
    def __init__(self):
        self.runq = RunQueue()     # C ring of runnable tasks (runq.pyx)
        self._timers = []          # heap of (deadline, seq, thread)
        self._seq = 0
        self._sel = selectors.DefaultSelector()
        self._fd_waiters = {}      # host fd -> set of threads
        self._wake_fds = {}        # fds registered only to wake the idle loop

    # -- the run queue ----------------------------------------------------------
    def add(self, t):
        t.state = RUNNABLE
        self.runq.append(t)

    def pick(self):
        """The next runnable thread (round robin), or None; a thread stopped
        by job control is parked until SIGCONT."""
        return self.runq.pick()

    def requeue(self, t):
        """``t`` used its slice (or was stopped) and may run again."""
        if t.state == RUNNABLE:
            self.runq.append(t)

    # -- blocking ------------------------------------------------------------------
    def block(self, t, deadline=None, fds=()):
        """Park ``t`` until ``deadline`` (time.monotonic) or one of the host
        ``fds`` (fd, events) is ready, or an explicit wake()."""
        t.state = BLOCKED
        t.wait_fds = []
        if deadline is not None:
            self._seq += 1
            heapq.heappush(self._timers, (deadline, self._seq, t))
        for fd, events in fds:
            self._fd_waiters.setdefault(fd, {})[t] = events
            t.wait_fds.append(fd)
            if not self._update_registration(fd):
                # Not pollable (a regular file): always ready.
                self.wake(t)
                return

    def _update_registration(self, fd):
        """Register ``fd`` for the union of what its waiters (and a wake
        callback) want; False if the fd cannot be polled."""
        events = 0
        for ev in self._fd_waiters.get(fd, {}).values():
            events |= ev
        if fd in self._wake_fds:
            events |= selectors.EVENT_READ
        try:
            if not events:
                self._sel.unregister(fd)
            else:
                try:
                    self._sel.modify(fd, events, fd)
                except KeyError:
                    self._sel.register(fd, events, fd)
        except KeyError:
            pass
        except (ValueError, OSError):
            self._fd_waiters.get(fd, {}).clear()
            return False
        return True

    def wake(self, t):
        if self.runq.wake_simple(t):
            return                  # was not asleep, or slept on no host fd
        for fd in getattr(t, "wait_fds", ()):
            waiters = self._fd_waiters.get(fd)
            if waiters is not None and waiters.pop(t, None) is not None:
                if not waiters:
                    del self._fd_waiters[fd]
                self._update_registration(fd)
        t.wait_fds = []
        self.add(t)

    def forget(self, t):
        """``t`` is gone (exited): drop it from every wait."""
        if t.state == BLOCKED:
            self.wake(t)
        t.state = ZOMBIE
        self.runq.remove(t)

    def add_wake_fd(self, fd, callback):
        """A host fd that, when readable, runs ``callback`` in the idle loop
        (host signals, later console input and network sockets)."""
        self._wake_fds[fd] = callback
        self._update_registration(fd)

    # -- time and idling ---------------------------------------------------------------
    def arm(self, timer, deadline):
        """(Re)arm ``timer`` for ``deadline``; None disarms it."""
        timer.deadline = deadline
        if deadline is not None:
            self._seq += 1
            heapq.heappush(self._timers, (deadline, self._seq, timer))

    def _stale(self, deadline, obj):
        if isinstance(obj, Timer):
            return obj.deadline != deadline
        return obj.state != BLOCKED

    def expire_timers(self, now=None):
        now = time.monotonic() if now is None else now
        while self._timers and self._timers[0][0] <= now:
            deadline, _, obj = heapq.heappop(self._timers)
            if isinstance(obj, Timer):
                if obj.deadline == deadline:
                    obj.deadline = None
                    obj.fn()
            else:
                self.wake(obj)

    def next_deadline(self):
        while self._timers and self._stale(self._timers[0][0], self._timers[0][2]):
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def poll(self, timeout):
        """Wait up to ``timeout`` seconds (None: forever) for host fds or a
        timer; wake whoever waited."""
        deadline = self.next_deadline()
        if deadline is not None:
            # Capped: the host's select/poll refuse timeouts past time_t (a
            # guest may sleep for 10^11 s); waking once a day costs nothing.
            left = min(max(0.0, deadline - time.monotonic()), MAX_WAIT)
            timeout = left if timeout is None else min(timeout, left)
        if self._sel.get_map():
            events = self._sel.select(timeout)
        else:
            if timeout is None:
                return False
            time.sleep(timeout)
            events = []
        for key, mask in events:
            fd = key.data
            callback = self._wake_fds.get(fd)
            if callback is not None and mask & selectors.EVENT_READ:
                callback()
            for t, wanted in list(self._fd_waiters.get(fd, {}).items()):
                if wanted & mask:
                    self.wake(t)
        self.expire_timers()
        return True

    @property
    def idle_possible(self):
        """Can anything still wake a thread: a timer, a host fd, or a wake
        fd (host signals)?"""
        return self.next_deadline() is not None or bool(self._fd_waiters) or \
            bool(self._wake_fds)
