"""A terminal (struct tty_struct): its settings, window size, line
discipline, session and foreground group, and the files that read and
write it.  The device behind it (a pty master, the host console) is a
``TtyDevice``: it takes processed output and feeds input."""
import time

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi import signals as S
from akuma.abi.errors import EAGAIN, EIO
from akuma.vfs.openfile import OpenFile
from akuma.kernel.tty import jobctl
from akuma.kernel.tty import termios as T
from akuma.kernel.tty.ldisc import LineDiscipline

PENDING_INPUT_MAX = 65536       # input waiting for the line discipline (flip buffers)


class TtyDevice:
    """What is behind a terminal.  ``room()``: output bytes it takes now;
    ``push(data)``: processed output (echoes are pushed even when full)."""

    def room(self):
        return 1 << 30

    def push(self, data):
        pass

    def queued(self):
        return 0

    def flush_output(self):
        pass


class Tty:
    def __init__(self, kernel, name, rdev, device=None):
        self.kernel = kernel
        self.name = name                # b"pts/3", b"console"
        self.rdev = rdev
        self.device = device or TtyDevice()
        self.termios = T.Termios()
        self.winsize = T.WinSize()
        self.ldisc = LineDiscipline(self.termios, self._device_out, self._isig, self._flow)
        self.session = None
        self.pgrp = None
        self.waiters = []               # tasks to wake on any change
        self.listeners = []             # Python callbacks, same moments
        self.pending = bytearray()      # input the line discipline has not taken yet
        self.opens = 0                  # open files of this terminal (not its master)
        self.hangups = 0                # files opened before a hangup read EOF
        self.dead = False               # its pty master is gone
        self.exclusive = False
        self.other_closed = False       # for a pty master: no slave open

    # -- waking ---------------------------------------------------------------------------
    def add_waiter(self, t):
        if t not in self.waiters:
            self.waiters.append(t)

    def wake_all(self):
        waiters, self.waiters = self.waiters, []
        for t in waiters:
            self.kernel.sched.wake(t)
        for cb in list(self.listeners):
            cb()

    # -- the device side ---------------------------------------------------------------------
    def input(self, data, limit=PENDING_INPUT_MAX):
        """Bytes from the device (keyboard, pty master writes).  Returns how
        many were accepted; the rest must be offered again later."""
        n = len(data)
        if limit is not None:
            n = min(n, max(0, limit - len(self.pending)))
        if n:
            self.pending += data[:n]
            self.feed()
            self.wake_all()
        return n

    def feed(self):
        """Give pending input to the line discipline as far as it takes it."""
        if self.pending:
            taken = self.ldisc.receive(bytes(self.pending))
            del self.pending[:taken]

    def _device_out(self, data):
        self.device.push(data)

    def _isig(self, sig):
        jobctl.signal_pgrp(self.kernel, self.pgrp, sig)

    def _flow(self, stopped):
        self.wake_all()

    def set_termios(self, new):
        self.termios = new
        self.ldisc.set_termios(new)
        self.feed()
        self.wake_all()

    def set_winsize(self, ws):
        if ws != self.winsize:
            self.winsize = ws
            jobctl.signal_pgrp(self.kernel, self.pgrp, S.SIGWINCH)

    def write_room(self):
        if self.ldisc.stopped:
            return 0
        return self.device.room()

    def write(self, data):
        """A write from a process (or the kernel): processed output, all of
        it or EAGAIN when the device has no room."""
        if not data:
            return 0
        if self.write_room() <= 0:
            raise KernelError(EAGAIN)
        self.device.push(self.ldisc.process_output(data))
        return len(data)

    def take(self, n):
        """Bytes a reader gets now (b"" for an EOF mark); room is made for
        more input."""
        data = self.ldisc.take(n)
        self.feed()
        self.wake_all()
        return data

    def hangup(self):
        """Files open now read EOF and fail writes (tty_vhangup)."""
        self.hangups += 1
        jobctl.hangup_session(self.kernel, self)
        self.wake_all()


def _copy_out(views, data):
    off = 0
    for v in views:
        if off >= len(data):
            break
        n = min(len(v), len(data) - off)
        v[:n] = data[off:off + n]
        off += n
    return off


class TtyFile(OpenFile):
    """An open terminal (not a pty master): reads and writes go through the
    line discipline; reads and writes of background groups are job
    controlled (fs.py calls read_as/write_as with the task)."""

    seekable = False
    isatty = True

    def __init__(self, tty, inode, flags, path=b""):
        super().__init__(inode, flags, path)
        self.tty = tty
        self.hangup_seen = tty.hangups
        tty.opens += 1

    @property
    def hung_up(self):
        return self.hangup_seen != self.tty.hangups

    # -- reading --------------------------------------------------------------------------
    def read_as(self, t, count, views_fn):
        """read(2) by task ``t``: an int (bytes or -errno) or None to block."""
        tty = self.tty
        if self.hung_up:
            return 0
        r = jobctl.check_change(t, tty, S.SIGTTIN)
        if r is not None and r < 0:
            return r
        if r is None:
            return None
        ld = tty.ldisc
        nonblock = self.flags & F.O_NONBLOCK
        if ld.canonical:
            if ld.available():
                return self._deliver(t, count, views_fn)
            return -EAGAIN if nonblock else self._block(t)
        cc = tty.termios.cc
        vmin, vtime = cc[T.VMIN], cc[T.VTIME]
        have = len(ld.raw)
        now = time.monotonic()
        if vmin == 0:
            if have:
                return self._deliver(t, count, views_fn)
            if vtime == 0:
                return 0
            deadline = self._deadline(t, now + vtime / 10, have, restart_on_input=False)
            if now >= deadline:
                _forget(t)
                return 0
            return -EAGAIN if nonblock else self._block(t, deadline)
        if have >= min(vmin, count):
            return self._deliver(t, count, views_fn)
        if nonblock:
            return self._deliver(t, count, views_fn) if have else -EAGAIN
        if vtime and have:
            # The inter-byte timer: restarted by every byte that arrives.
            deadline = self._deadline(t, now + vtime / 10, have, restart_on_input=True)
            if now >= deadline:
                return self._deliver(t, count, views_fn)
            return self._block(t, deadline)
        return self._block(t)

    @staticmethod
    def _deadline(t, fresh, have, restart_on_input):
        """The VTIME deadline of this (restarted) read, kept on the task.
        ``t.poll_deadline`` is cleared when a signal interrupts the call."""
        state = getattr(t, "tty_read", None)
        if state is not None and t.poll_deadline == state[0]:
            if not restart_on_input or state[1] == have:
                return state[0]
        t.tty_read = (fresh, have)
        t.poll_deadline = fresh
        return fresh

    def _block(self, t, deadline=None):
        self.tty.add_waiter(t)
        t.kernel.sched.block(t, deadline=deadline)
        return None

    def _deliver(self, t, count, views_fn):
        _forget(t)
        views = views_fn()
        data = self.tty.take(count)
        return _copy_out(views, data)

    def readinto(self, views):
        """A read without a task (kernel callers): what is there now."""
        if self.hung_up:
            return 0
        if not self.tty.ldisc.available():
            raise KernelError(EAGAIN)
        return _copy_out(views, self.tty.take(sum(len(v) for v in views)))

    # -- writing --------------------------------------------------------------------------------
    def write_as(self, t, views):
        tty = self.tty
        if self.hung_up:
            return -EIO
        if tty.termios.l(T.TOSTOP):
            r = jobctl.check_change(t, tty, S.SIGTTOU)
            if r is None or r < 0:
                return r
        try:
            return self.writefrom(views)
        except KernelError as e:
            if e.errno != EAGAIN or self.flags & F.O_NONBLOCK:
                raise
            return self._block(t)

    def writefrom(self, views):
        if self.hung_up:
            raise KernelError(EIO)
        data = b"".join(bytes(v) for v in views)
        return self.tty.write(data)

    def write(self, data):
        return self.writefrom([memoryview(data)])

    # -- readiness ------------------------------------------------------------------------------
    def add_waiter(self, t):
        self.tty.add_waiter(t)

    def poll_ready(self):
        if self.hung_up:
            return True, True
        tty = self.tty
        return tty.ldisc.available(tty.ldisc.poll_amount()), tty.write_room() > 0

    def poll_mask(self):
        POLLIN, POLLOUT, POLLHUP, RDNORM, WRNORM = 0x1, 0x4, 0x10, 0x40, 0x100
        if self.hung_up:
            return POLLIN | RDNORM | POLLOUT | WRNORM | POLLHUP | 0x8
        r, w = self.poll_ready()
        return (POLLIN | RDNORM if r else 0) | (POLLOUT | WRNORM if w else 0)

    def fionread(self):
        return 0 if self.hung_up else self.tty.ldisc.inq()

    def tty_ioctl(self, t, req, arg):
        from akuma.kernel.tty.ioctl import tty_ioctl
        return tty_ioctl(t, self, self.tty, req, arg, master=False)

    def close(self):
        if not self.closed:
            super().close()
            self.tty.opens -= 1
            on_close = getattr(self.tty, "on_last_close", None)
            if self.tty.opens == 0 and on_close is not None:
                on_close()
            self.tty.wake_all()


def _forget(t):
    if getattr(t, "tty_read", None) is not None:
        t.tty_read = None
        t.poll_deadline = None
