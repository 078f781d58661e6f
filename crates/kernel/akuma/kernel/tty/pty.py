"""Unix98 pseudo-terminals: /dev/ptmx hands out a master, /dev/pts/N is
its slave (a Tty whose device is the master's read buffer).  ``open_pty``
makes a pair for kernel code (SSH sessions) without a guest."""
import struct

from akuma.abi import KernelError, makedev
from akuma.abi import fcntl as F
from akuma.abi import stat as st
from akuma.abi.errors import EAGAIN, EBUSY, EIO, ENOSPC, EINVAL
from akuma.vfs.openfile import OpenFile
from akuma.kernel.tty import jobctl
from akuma.kernel.tty import termios as T
from akuma.kernel.tty.tty import Tty, TtyDevice, TtyFile

PTY_MAJOR = 136
PTMX_RDEV = makedev(5, 2)
MASTER_BUF = 65536          # slave output waiting for the master's reader
MAX_PTYS = 4096             # /proc/sys/kernel/pty/max


class _ToMaster(TtyDevice):
    def __init__(self, pty):
        self.pty = pty

    def room(self):
        return MASTER_BUF - len(self.pty.out)

    def push(self, data):
        self.pty.out += data
        self.pty.tty.wake_all()         # the master's readers and on_wake listeners


class Pty:
    def __init__(self, table, index):
        self.table = table
        self.index = index
        self.out = bytearray()          # what the master reads
        self.locked = True              # TIOCSPTLCK: set on every ptmx open
        self.packet = False             # TIOCPKT
        self.slave_closed = False       # TTY_OTHER_CLOSED on the master
        self.master_open = True
        self.tty = Tty(table.kernel, b"pts/%d" % index, makedev(PTY_MAJOR, index),
                       _ToMaster(self))
        self.tty.termios.cflag &= ~T.HUPCL      # Linux's pts init_termios
        self.tty.on_last_close = self._slave_gone
        self.node = None

    def _slave_gone(self):
        self.slave_closed = True

    def open_slave(self, inode, flags, task=None):
        if not self.master_open:
            raise KernelError(EIO)
        if self.locked:
            raise KernelError(EIO)
        tty = self.tty
        if tty.exclusive and (task is None or task.process.creds.euid != 0):
            raise KernelError(EBUSY)
        f = TtyFile(tty, inode, flags, b"/dev/pts/%d" % self.index)
        self.slave_closed = False
        if task is not None and not flags & F.O_NOCTTY:
            p = task.process
            k = self.table.kernel
            if p.sid == p.pid and jobctl.ctty_of(k, p) is None and tty.session is None:
                jobctl.set_ctty(k, p, tty)
        return f

    def master_closed(self):
        self.master_open = False
        self.tty.dead = True
        self.tty.hangup()
        self.table.release(self)


class PtyMaster(OpenFile):
    """The master side: reads what the slave wrote (and echoed), writes are
    the slave's keyboard."""

    seekable = False
    isatty = True

    def __init__(self, pty, inode, flags):
        super().__init__(inode, flags, b"/dev/ptmx")
        self.pty = pty

    # -- for kernel code -----------------------------------------------------------------
    def on_wake(self, callback):
        """Call ``callback()`` whenever this pair changes (output to read,
        room to write, hangup).  It runs inside the kernel loop: it must only
        schedule work."""
        self.pty.tty.listeners.append(callback)

    def read_nowait(self, n=65536):
        """What the slave side wrote so far (b"" when nothing); EIO once
        the slave is closed and everything was read."""
        out = bytearray(n)
        try:
            got = self.readinto([memoryview(out)])
        except KernelError as e:
            if e.errno == EAGAIN:
                return b""
            raise
        return bytes(out[:got])

    def write_nowait(self, data):
        """Type ``data`` on the terminal; returns how much it took."""
        try:
            return self.writefrom([memoryview(data)])
        except KernelError as e:
            if e.errno == EAGAIN:
                return 0
            raise

    # -- the file ------------------------------------------------------------------------
    def read_as(self, t, count, views_fn):
        """read(2): EIO once the slave is closed and nothing is left."""
        pty = self.pty
        if not pty.out:
            if pty.slave_closed:
                return -EIO
            if self.flags & F.O_NONBLOCK:
                return -EAGAIN
            pty.tty.add_waiter(t)
            t.kernel.sched.block(t)
            return None
        return self.readinto(views_fn())

    def readinto(self, views):
        pty = self.pty
        if not pty.out:
            if pty.slave_closed:
                raise KernelError(EIO)
            raise KernelError(EAGAIN)
        total = 0
        first = True
        for v in views:
            if pty.packet and first:
                v[:1] = b"\0"                  # TIOCPKT_DATA
                v = v[1:]
                total += 1
            first = False
            n = min(len(v), len(pty.out))
            v[:n] = pty.out[:n]
            del pty.out[:n]
            total += n
            if not pty.out:
                break
        pty.tty.wake_all()
        return total

    def writefrom(self, views):
        data = b"".join(bytes(v) for v in views)
        if not data:
            return 0
        n = self.pty.tty.input(data)
        if n == 0:
            raise KernelError(EAGAIN)
        return n

    def add_waiter(self, t):
        self.pty.tty.add_waiter(t)

    def poll_ready(self):
        pty = self.pty
        return bool(pty.out), len(pty.tty.pending) < 65536

    def poll_mask(self):
        r, w = self.poll_ready()
        hup = 0x10 if self.pty.slave_closed else 0
        return (0x41 if r else 0) | (0x104 if w else 0) | hup

    def fionread(self):
        return len(self.pty.out)

    def tty_ioctl(self, t, req, arg):
        from akuma.kernel.tty.ioctl import tty_ioctl, _put, _int
        pty = self.pty
        if req == T.TIOCGPTN:
            return _put(t, arg, struct.pack("<I", pty.index))
        if req == T.TIOCSPTLCK:
            pty.locked = bool(_int(t, arg))
            return 0
        if req == T.TIOCGPTLCK:
            return _put(t, arg, struct.pack("<i", int(pty.locked)))
        if req == T.TIOCPKT:
            pty.packet = bool(_int(t, arg))
            return 0
        if req == T.TIOCGPKT:
            return _put(t, arg, struct.pack("<i", int(pty.packet)))
        if req == T.TIOCSIG:
            sig = arg & 0xFFFFFFFF
            if not 0 < sig < 65:
                return -EINVAL
            jobctl.signal_pgrp(t.kernel, pty.tty.pgrp, sig)
            return 0
        if req == T.TIOCGPTPEER:
            flags = arg & 0xFFFFFFFF
            if flags & ~(F.O_ACCMODE | F.O_NOCTTY | F.O_NONBLOCK | F.O_CLOEXEC):
                return -EINVAL
            node = pty.node if pty.node is not None else self.inode
            f = pty.open_slave(node, flags | F.O_NOCTTY, t)
            from akuma.kernel.syscalls.fs import _nofile
            return t.process.fds.install(f, cloexec=bool(flags & F.O_CLOEXEC),
                                         limit=_nofile(t.process))
        return tty_ioctl(t, self, pty.tty, req, arg, master=True)

    def close(self):
        if not self.closed:
            super().close()
            self.pty.master_closed()


class PtyTable:
    """The kernel's ptys and their /dev/pts nodes."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.ptys = {}
        self.devfs = None       # where /dev/pts/N nodes are made
        self._private = None    # nodes for pairs when there is no devfs

    def allocate(self):
        index = 0
        while index in self.ptys:
            index += 1
        if index >= MAX_PTYS:
            raise KernelError(ENOSPC)
        pty = Pty(self, index)
        self.ptys[index] = pty
        uid = gid = 0
        task = self.kernel.cpu.task
        if task is not None:
            uid, gid = task.process.creds.euid, task.process.creds.egid

        def open_slave(inode, flags, pty=pty):
            return pty.open_slave(inode, flags, self.kernel.cpu.task)

        fs = self.devfs
        if fs is not None:
            # devpts' defaults: mode 0600, the opener's ids
            pty.node = fs.add_device(b"pts/%d" % index, pty.tty.rdev, open_slave, mode=0o600,
                                     uid=uid, gid=gid)
        else:
            pty.node = self._node(pty.tty.rdev, open_slave)
        return pty

    def _node(self, rdev, driver, mode=0o600):
        from akuma.vfs.memfs import MemFs, MemNode
        if self._private is None:
            self._private = MemFs(limit=0)
        return MemNode(self._private, st.S_IFCHR | mode, 0, 0, rdev, driver)

    def release(self, pty):
        self.ptys.pop(pty.index, None)
        fs = self.devfs
        if fs is not None:
            try:
                fs.root.lookup(b"pts").unlink(b"%d" % pty.index)
            except KernelError:
                pass

    def open_master(self, inode, flags):
        pty = self.allocate()
        return PtyMaster(pty, inode, flags)


def pty_table(kernel):
    table = getattr(kernel, "ptys", None)
    if table is None:
        table = kernel.ptys = PtyTable(kernel)
    return table


def open_pty(kernel):
    """A new pty pair for kernel code: (master file, slave file, index).
    The slave is unlocked and not anyone's controlling terminal; give it to
    a process as fds 0-2 and make it the session's terminal with TIOCSCTTY
    (or ``jobctl.set_ctty``)."""
    table = pty_table(kernel)
    ptmx = None
    if table.devfs is not None:
        try:
            ptmx = table.devfs.root.lookup(b"ptmx")
        except KernelError:
            ptmx = None
    if ptmx is None:
        ptmx = table._node(PTMX_RDEV, None, 0o666)
    pty = table.allocate()
    master = PtyMaster(pty, ptmx, F.O_RDWR)
    pty.locked = False
    slave = pty.open_slave(pty.node, F.O_RDWR | F.O_NOCTTY)
    return master, slave, pty.index
