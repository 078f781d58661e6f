"""akuma.sched.Scheduler: round robin, blocking on deadlines and host fds,
wake and forget.  Threads are plain objects: the scheduler only gives them
``state`` and ``wait_fds``."""
import os
import selectors
import time

import pytest

from akuma.sched import Scheduler, RUNNABLE, BLOCKED, ZOMBIE

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE


class T:
    def __init__(self, name):
        self.name = name
        self.state = None

    def __repr__(self):
        return f"T({self.name})"


_SHARED_FD_BUG = ("BUG: scheduler.py Scheduler.block keys the selector registration by fd "
                  "but overwrites its data tag with sel.modify(fd, events, (fd, events)) when "
                  "the fd is already registered; events are then dispatched to the last "
                  "tag only, so the other waiters (or the wake-fd callback) never run")


@pytest.fixture
def s():
    return Scheduler()


@pytest.fixture
def pipe():
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


def test_empty_pick(s):
    assert s.pick() is None
    assert not s.idle_possible


def test_add_marks_runnable(s):
    t = T("a")
    s.add(t)
    assert t.state == RUNNABLE


def test_round_robin(s):
    a, b, c = T("a"), T("b"), T("c")
    for t in (a, b, c):
        s.add(t)
    order = []
    for _ in range(7):
        t = s.pick()
        order.append(t.name)
        s.requeue(t)
    assert order == list("abcabca")


def test_pick_skips_threads_no_longer_runnable(s):
    a, b = T("a"), T("b")
    s.add(a)
    s.add(b)
    a.state = BLOCKED          # blocked by someone else while queued
    assert s.pick() is b
    assert s.pick() is None


def test_requeue_of_blocked_thread_is_dropped(s):
    a = T("a")
    s.add(a)
    t = s.pick()
    s.block(t)
    s.requeue(t)
    assert s.pick() is None


def test_block_with_deadline_wakes_after_it(s):
    a = T("a")
    s.add(a)
    s.pick()
    deadline = time.monotonic() + 0.05
    s.block(a, deadline=deadline)
    assert a.state == BLOCKED
    assert s.idle_possible
    assert s.next_deadline() == deadline
    assert s.pick() is None
    s.poll(None)              # waits for the deadline (no fds registered)
    assert time.monotonic() >= deadline
    assert a.state == RUNNABLE
    assert s.pick() is a


def test_poll_with_short_timeout_does_not_wake_early(s):
    a = T("a")
    s.block(a, deadline=time.monotonic() + 60)
    s.poll(0)
    assert a.state == BLOCKED
    assert s.pick() is None


def test_expire_timers_with_explicit_now(s):
    a, b = T("a"), T("b")
    now = time.monotonic()
    s.block(a, deadline=now + 10)
    s.block(b, deadline=now + 20)
    s.expire_timers(now + 15)
    assert a.state == RUNNABLE and b.state == BLOCKED
    assert s.next_deadline() == now + 20
    s.expire_timers(now + 25)
    assert [s.pick(), s.pick()] == [a, b]


def test_stale_timer_of_woken_thread_is_ignored(s):
    a = T("a")
    s.block(a, deadline=time.monotonic() + 100)
    s.wake(a)
    assert s.next_deadline() is None
    assert s.pick() is a
    s.requeue(a)
    s.expire_timers(time.monotonic() + 200)
    # a was runnable all along; the old timer must not queue it twice.
    assert s.pick() is a
    assert s.pick() is None


def test_block_on_pipe_read_wakes_when_written(s, pipe):
    r, w = pipe
    a = T("a")
    s.block(a, fds=[(r, READ)])
    assert a.wait_fds == [r]
    s.poll(0)
    assert a.state == BLOCKED
    os.write(w, b"x")
    s.poll(5)
    assert a.state == RUNNABLE
    assert a.wait_fds == []
    assert s.pick() is a
    # The fd is no longer watched.
    assert not s.idle_possible


def test_two_waiters_on_one_fd(s, pipe):
    r, w = pipe
    a, b = T("a"), T("b")
    s.block(a, fds=[(r, READ)])
    s.block(b, fds=[(r, READ)])
    os.write(w, b"x")
    s.poll(5)
    assert a.state == RUNNABLE and b.state == RUNNABLE
    assert {s.pick(), s.pick()} == {a, b}


def test_read_and_write_waiters_on_the_same_fd(s):
    import socket
    x, y = socket.socketpair()
    try:
        a, b = T("reader"), T("writer")
        s.block(a, fds=[(x.fileno(), READ)])
        s.block(b, fds=[(x.fileno(), WRITE)])      # a socket is writable at once
        s.poll(5)
        assert b.state == RUNNABLE
        assert a.state == BLOCKED
        y.send(b"data")
        s.poll(5)
        assert a.state == RUNNABLE
    finally:
        x.close()
        y.close()


def test_block_on_fd_or_deadline(s, pipe):
    r, _ = pipe
    a = T("a")
    s.block(a, deadline=time.monotonic() + 0.02, fds=[(r, READ)])
    s.poll(None)
    assert a.state == RUNNABLE
    assert a.wait_fds == []


def test_unpollable_fd_wakes_at_once(s, tmp_path):
    p = tmp_path / "regular"
    p.write_bytes(b"data")
    fd = os.open(p, os.O_RDONLY)
    try:
        a = T("a")
        s.block(a, fds=[(fd, READ)])
        assert a.state == RUNNABLE      # epoll refuses regular files: always ready
        assert s.pick() is a
    finally:
        os.close(fd)


def test_forget_removes_a_blocked_thread(s, pipe):
    r, w = pipe
    a = T("a")
    s.block(a, fds=[(r, READ)], deadline=time.monotonic() + 0.01)
    s.forget(a)
    assert a.state == ZOMBIE
    assert s.pick() is None
    assert not s._fd_waiters
    os.write(w, b"x")
    s.poll(0.05)
    assert a.state == ZOMBIE
    assert s.pick() is None


def test_forget_removes_a_queued_thread(s):
    a, b = T("a"), T("b")
    s.add(a)
    s.add(b)
    s.forget(a)
    assert a.state == ZOMBIE
    assert s.pick() is b
    assert s.pick() is None


def test_forget_unknown_thread_is_harmless(s):
    a = T("a")
    a.state = RUNNABLE
    s.forget(a)
    assert a.state == ZOMBIE


def test_wake_of_non_blocked_thread_is_a_noop(s):
    a = T("a")
    s.add(a)
    s.wake(a)
    s.wake(a)
    assert a.state == RUNNABLE
    assert s.pick() is a
    assert s.pick() is None        # not queued twice
    z = T("z")
    z.state = ZOMBIE
    s.wake(z)
    assert z.state == ZOMBIE
    assert s.pick() is None


def test_explicit_wake_unregisters_fd(s, pipe):
    r, w = pipe
    a = T("a")
    s.block(a, fds=[(r, READ)])
    s.wake(a)
    assert a.state == RUNNABLE
    assert not s._fd_waiters
    # Readiness afterwards wakes nobody and does not fail.
    os.write(w, b"x")
    s.poll(0)
    assert s.pick() is a
    assert s.pick() is None


def test_wake_fd_callback(s, pipe):
    r, w = pipe
    hits = []
    s.add_wake_fd(r, lambda: hits.append(os.read(r, 10)))
    os.write(w, b"sig")
    s.poll(5)
    assert hits == [b"sig"]


def test_wake_fd_stays_registered_after_waiter_leaves(s, pipe):
    r, w = pipe
    hits = []
    s.add_wake_fd(r, lambda: hits.append(os.read(r, 10)))
    a = T("a")
    s.block(a, fds=[(r, READ)])
    s.wake(a)
    os.write(w, b"x")
    s.poll(5)
    assert hits == [b"x"]


def test_poll_forever_with_nothing_to_wait_for_returns(s):
    assert s.poll(None) is False
