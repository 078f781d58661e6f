"""Named pipes (mkfifo): every open of one FIFO inode shares one Pipe while
any end is open, with Linux's fifo_open rules.

- O_RDONLY waits for a writer, O_WRONLY for a reader; with O_NONBLOCK a
  reader opens at once and a writer with no reader gets ENXIO; O_RDWR
  never waits (one file that is both ends).
- Waiting uses the kernel's restart model: the opener sleeps and its
  openat runs again.  Like Linux it waits for the partner *counter* to
  move, not for a partner to be present, so a writer that opened, wrote
  and closed before the reader ran again still releases it (the data stays
  in the pipe).  A waiting opener counts as a partner for the other side.
"""
from akuma.abi import KernelError, stat as st
from akuma.abi import fcntl as F
from akuma.abi.errors import ENXIO
from akuma.kernel.pipe import Pipe, PipeEnd


class FifoWait(Exception):
    """The opener must sleep until a partner opens (openat blocks)."""


class _Fifo(Pipe):
    def __init__(self, sched, key, table):
        super().__init__(sched)
        self.key, self.table = key, table
        self.r_counter = self.w_counter = 0       # opens ever made, per side
        self.openers = []                         # tasks sleeping in open(2)

    def wake_openers(self):
        openers, self.openers = self.openers, []
        for t in openers:
            self.sched.wake(t)

    def release_if_unused(self):
        """No end open and nobody opening: the buffer goes (as on Linux)."""
        if not (self.readers or self.writers) and self.table.get(self.key) is self:
            del self.table[self.key]


class FifoEnd(PipeEnd):
    """An open FIFO: a pipe end whose stat is the inode's, and which may be
    both ends at once (O_RDWR)."""

    def __init__(self, fifo, inode, acc, flags):
        self.inode = inode
        self.both = acc == F.O_RDWR
        super().__init__(fifo, acc == F.O_WRONLY, flags)
        self.flags = acc | (flags & (F.O_NONBLOCK | F.O_APPEND))
        if self.both:
            fifo.writers += 1                     # PipeEnd counted the reader side
        fifo.wake_all()                           # pollers waiting for a partner

    readable = property(lambda self: self.both or not self.is_writer)
    writable = property(lambda self: self.both or self.is_writer)

    def stat(self):
        return self.inode.stat()

    def close(self):
        p = self.pipe
        if self.both:
            p.writers -= 1
        super().close()
        p.release_if_unused()


class Fifos:
    """The kernel's FIFO table: Vfs.special_open for S_IFIFO inodes."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.table = {}                           # inode key -> _Fifo
        # The task whose openat is running (set by the syscall): only it may
        # sleep; the kernel's own opens (the kernel shell) never do.
        self.opener = None

    def open(self, inode, flags):
        if inode.kind != st.S_IFIFO or flags & F.O_PATH:
            return None                           # devices, sockets: their own drivers
        t = self.opener
        fifo = self.table.get(inode.key)
        if fifo is None:
            fifo = self.table[inode.key] = _Fifo(self.kernel.sched, inode.key, self.table)
        wait = self._resume(t, fifo)
        acc = flags & F.O_ACCMODE
        if acc == F.O_RDONLY:
            if not fifo.writers and not flags & F.O_NONBLOCK and \
                    (wait is None or wait[2] == fifo.w_counter):
                self._sleep(t, fifo, "r", fifo.w_counter if wait is None else wait[2])
            fifo.r_counter += 1
        elif acc == F.O_WRONLY:
            if not fifo.readers and (wait is None or wait[2] == fifo.r_counter):
                if flags & F.O_NONBLOCK:
                    fifo.release_if_unused()
                    raise KernelError(ENXIO)
                self._sleep(t, fifo, "w", fifo.r_counter if wait is None else wait[2])
            fifo.w_counter += 1
        else:
            fifo.r_counter += 1
            fifo.w_counter += 1
        end = FifoEnd(fifo, inode, acc, flags)
        fifo.wake_openers()
        return end

    @staticmethod
    def _resume(t, fifo):
        """The re-executed open of a task that slept on ``fifo``: its side
        stops counting as waiting (the end it gets will count instead)."""
        wait = getattr(t, "fifo_wait", None) if t is not None else None
        if wait is None or wait[0] is not fifo:
            return None
        t.fifo_wait = None
        if wait[1] == "r":
            fifo.readers -= 1
        else:
            fifo.writers -= 1
        return wait

    def _sleep(self, t, fifo, side, counter):
        """Like Linux, a sleeping opener already counts on its side: a writer
        then sees a reader (no EPIPE) and a reader sees a writer (no EOF)."""
        if t is None:                             # the kernel itself never sleeps here
            fifo.release_if_unused()
            raise KernelError(ENXIO)
        if side == "r":
            fifo.readers += 1
        else:
            fifo.writers += 1
        t.fifo_wait = (fifo, side, counter)
        fifo.openers.append(t)
        raise FifoWait()

    def cancel(self, t):
        """``t`` left a waiting open for good: a signal made it EINTR (or it
        will restart and wait afresh), or it died."""
        wait = getattr(t, "fifo_wait", None)
        if wait is None:
            return
        t.fifo_wait = None
        fifo = wait[0]
        if wait[1] == "r":
            fifo.readers -= 1
        else:
            fifo.writers -= 1
        if t in fifo.openers:
            fifo.openers.remove(t)
        fifo.wake_all()
        fifo.release_if_unused()
