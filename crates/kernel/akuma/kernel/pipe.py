"""Pipes: a bounded in-kernel buffer with reader and writer ends.  Blocking
uses the kernel's restart model: a reader or writer that must wait parks on
the pipe's wait list and its syscall runs again when woken."""
import itertools

from akuma.abi import KernelError, Stat
from akuma.abi import fcntl as F
from akuma.abi.errors import EAGAIN, EPIPE
from akuma.kernel.kernelfile import KernelFile
from akuma.abi.stat import S_IFIFO

PIPE_BUF = 4096
PIPE_SIZE = 65536
_ids = itertools.count(1)


class Pipe:
    def __init__(self, sched):
        self.sched = sched
        self.buf = bytearray()
        self.capacity = PIPE_SIZE
        self.readers = 0
        self.writers = 0
        self.waiters = []
        self.listeners = []        # kernel-side consumers (SSH sessions): called on every wake
        self.ino = next(_ids)

    def wake_all(self):
        if self.waiters:
            waiters, self.waiters = self.waiters, []
            for t in waiters:
                self.sched.wake(t)
        if self.listeners:
            for cb in list(self.listeners):
                cb()


class PipeEnd(KernelFile):
    """One end of a pipe, as an open file description."""

    def __init__(self, pipe, write, flags=0):
        self.pipe = pipe
        self.is_writer = write
        self.flags = (F.O_WRONLY if write else F.O_RDONLY) | (flags & F.O_NONBLOCK)
        self.path = f"pipe:[{pipe.ino}]".encode()
        if write:
            pipe.writers += 1
        else:
            pipe.readers += 1

    readable = property(lambda self: not self.is_writer)
    writable = property(lambda self: self.is_writer)

    def add_waiter(self, t):
        self.pipe.waiters.append(t)

    def poll_ready(self):
        p = self.pipe
        return (bool(p.buf) or p.writers == 0,
                len(p.buf) < p.capacity or p.readers == 0)

    def readinto(self, views):
        p = self.pipe
        total = 0
        for v in views:
            n = min(len(v), len(p.buf))
            if n == 0:
                break
            v[:n] = p.buf[:n]
            del p.buf[:n]
            total += n
        if total:
            p.wake_all()
        return total

    def writefrom(self, views):
        p = self.pipe
        if p.readers == 0:
            raise KernelError(EPIPE)
        want = sum(len(v) for v in views)
        room = p.capacity - len(p.buf)
        if room == 0 or (want <= PIPE_BUF and room < want):
            raise KernelError(EAGAIN)      # the caller blocks unless O_NONBLOCK
        total = 0
        for v in views:
            n = min(len(v), room - total)
            p.buf += v[:n]
            total += n
            if total == room:
                break
        p.wake_all()
        return total

    def stat(self):
        return Stat(mode=S_IFIFO | 0o600, size=0, ino=self.pipe.ino, blksize=4096)

    def fionread(self):
        return len(self.pipe.buf)

    def close(self):
        p = self.pipe
        if self.is_writer:
            p.writers -= 1
        else:
            p.readers -= 1
        p.wake_all()
