"""The C run queue: round robin, growth, removal, skipping tasks that are
no longer runnable, parking job-control-stopped ones, and reference counts
(a leak or an early free here would corrupt the kernel)."""
import sys

from akuma.sched import RUNNABLE, BLOCKED, STOPPED
from akuma.sched.runq import RunQueue


class T:
    def __init__(self, name, state=RUNNABLE, stopped=False):
        self.name, self.state, self.stopped = name, state, stopped

    def __repr__(self):
        return self.name


def test_round_robin_and_growth():
    q = RunQueue()
    tasks = [T(f"t{i}") for i in range(200)]       # past the initial 64 slots
    for t in tasks:
        q.append(t)
    assert len(q) == 200 and list(q) == tasks
    got = [q.pick() for _ in range(200)]
    assert got == tasks and q.pick() is None and not q


def test_wraps_around_the_ring():
    q = RunQueue()
    a, b, c = T("a"), T("b"), T("c")
    for _ in range(100):                        # head walks round the ring
        q.append(a)
        q.append(b)
        assert q.pick() is a
        q.append(c)
        assert q.pick() is b and q.pick() is c
    assert not q


def test_skips_the_not_runnable_and_parks_the_stopped():
    q = RunQueue()
    sleeper, stopped, ok = T("s", BLOCKED), T("p", stopped=True), T("ok")
    for t in (sleeper, stopped, ok):
        q.append(t)
    assert q.pick() is ok
    assert stopped.state == STOPPED and sleeper.state == BLOCKED
    assert q.pick() is None


def test_remove_drops_every_entry():
    q = RunQueue()
    a, b = T("a"), T("b")
    for t in (a, b, a, b, a):
        q.append(t)
    q.remove(a)
    assert list(q) == [b, b]
    q.remove(T("absent"))
    assert len(q) == 2


def test_reference_counts():
    q = RunQueue()
    t = T("t")
    base = sys.getrefcount(t)
    for _ in range(10):
        q.append(t)
    assert sys.getrefcount(t) == base + 10
    assert q.pick() is t
    assert sys.getrefcount(t) == base + 9
    q.remove(t)
    assert sys.getrefcount(t) == base
    for _ in range(3):
        q.append(t)
    del q                                           # the ring's references go with it
    assert sys.getrefcount(t) == base


def test_wake_simple():
    """Only a task asleep on nothing but an explicit wake is woken in C;
    one also waiting on host fds needs the scheduler's full wake."""
    q = RunQueue()
    asleep, on_fd, running = T("a", BLOCKED), T("f", BLOCKED), T("r")
    asleep.wait_fds, on_fd.wait_fds, running.wait_fds = [], [7], []
    assert q.wake_simple(asleep) and asleep.state == RUNNABLE
    assert not q.wake_simple(on_fd) and on_fd.state == BLOCKED
    assert q.wake_simple(running) and list(q) == [asleep]
    assert sys.getrefcount(asleep) > 2
