"""The pipe's C ring (pipecore.pyx): contents survive wrapping round the
ring and F_SETPIPE_SZ, reads and writes over several buffers, and wake-ups
of parked tasks (in C for those that sleep on nothing else)."""
import os

import pytest

from akuma.kernel.pipecore import Pipe, PIPE_SIZE
from akuma.sched import Scheduler, RUNNABLE, BLOCKED


class FakeTask:
    def __init__(self):
        self.state = BLOCKED
        self.wait_fds = []


def _pipe():
    return Pipe(Scheduler())


def _read(p, n):
    buf = bytearray(n)
    got = p.read_into([memoryview(buf)])
    return bytes(buf[:got])


def test_fifo_order_across_the_wrap():
    p = _pipe()
    data = bytes(range(256)) * 300            # 76800 bytes: more than one ring
    sent = got = 0
    out = bytearray()
    while got < len(data):
        room = p.capacity - p.nbytes
        n = p.write_from([data[sent:sent + min(room, 7001)]], room)
        sent += n
        chunk = _read(p, 4099)
        out += chunk
        got += len(chunk)
    assert bytes(out) == data and p.nbytes == 0


def test_write_stops_at_the_limit_and_the_room():
    p = _pipe()
    assert p.write_from([b"abc", b"defg"], 5) == 5
    assert p.peek() == b"abcde"
    assert p.write_from([b"x" * PIPE_SIZE], PIPE_SIZE) == PIPE_SIZE - 5
    assert p.nbytes == p.capacity == PIPE_SIZE
    assert p.write_from([b"more"], 10) == 0


def test_read_into_several_buffers():
    p = _pipe()
    p.write_from([b"0123456789"], 10)
    a, b = bytearray(4), bytearray(100)
    assert p.read_into([memoryview(a), memoryview(b)]) == 10
    assert bytes(a) == b"0123" and bytes(b[:6]) == b"456789"
    assert p.read_into([memoryview(a)]) == 0


def test_resize_keeps_wrapped_contents():
    p = _pipe()
    p.write_from([b"a" * 60000], 60000)
    assert _read(p, 50000) == b"a" * 50000
    p.write_from([b"b" * 40000], 40000)       # wraps round the 64 KiB ring
    p.capacity = 1 << 20
    p.write_from([b"c" * 100000], 100000)
    assert p.peek() == b"a" * 10000 + b"b" * 40000 + b"c" * 100000
    with pytest.raises(ValueError):
        p.capacity = 4096                     # less than it holds
    assert p.capacity == 1 << 20


def test_wake_all_parks_and_wakes():
    sched = Scheduler()
    p = Pipe(sched)
    simple, on_fd = FakeTask(), FakeTask()
    r, w = os.pipe()
    try:
        sched.block(on_fd, fds=[(r, 1)])      # also waits on a host fd
        p.waiters += [simple, on_fd]
        calls = []
        p.listeners.append(lambda: calls.append(1))
        p.wake_all()
        assert simple.state == RUNNABLE and on_fd.state == RUNNABLE
        assert on_fd.wait_fds == [] and not sched._fd_waiters
        assert p.waiters == [] and calls == [1]
        assert [sched.pick(), sched.pick(), sched.pick()] == [simple, on_fd, None]
    finally:
        os.close(r)
        os.close(w)
