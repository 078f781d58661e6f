"""Pipes: a bounded in-kernel buffer with reader and writer ends.  Blocking
uses the kernel's restart model: a reader or writer that must wait parks on
the pipe's wait list and its syscall runs again when woken."""
from akuma.abi import KernelError, Stat
from akuma.abi import fcntl as F
from akuma.abi.errors import EAGAIN, EPIPE
from akuma.kernel.kernelfile import KernelFile
from akuma.abi.stat import S_IFIFO
from akuma.kernel import pipecore

PIPE_BUF = 4096
# The buffer and wait lists are C (pipecore.pyx): the syscall fast path
# (fastsys.pyx) reads and writes pipes without Python.
Pipe = pipecore.Pipe
PIPE_SIZE = pipecore.PIPE_SIZE


class PipeEnd(pipecore.PipeEndCore, KernelFile):
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
        return (p.nbytes > 0 or p.writers == 0,
                p.nbytes < p.capacity or p.readers == 0)

    def readinto(self, views):
        p = self.pipe
        total = p.read_into(views)
        if total:
            p.wake_all()
        return total

    def writefrom(self, views):
        p = self.pipe
        if p.readers == 0:
            raise KernelError(EPIPE)
        want = sum(len(v) for v in views)
        room = p.capacity - p.nbytes
        if room == 0 or (want <= PIPE_BUF and room < want):
            raise KernelError(EAGAIN)      # the caller blocks unless O_NONBLOCK
        total = p.write_from(views, room)
        p.wake_all()
        return total

    def stat(self):
        return Stat(mode=S_IFIFO | 0o600, size=0, ino=self.pipe.ino, blksize=4096)

    def fionread(self):
        return self.pipe.nbytes

    def close(self):
        p = self.pipe
        if self.is_writer:
            p.writers -= 1
        else:
            p.readers -= 1
        p.wake_all()
