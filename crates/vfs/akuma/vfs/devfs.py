"""devfs: a memfs directory of device nodes, and the character-device drivers
for the memory devices (null, zero, full, random, urandom).

A driver is an OpenFile subclass constructed as driver(inode, flags).  CHRDEVS
maps rdev -> driver so a node made by mknod anywhere finds its driver; the
kernel registers more (ttys, ptys) with register_chrdev.  Block devices are
served by major number (BLKDEVS, register_blkdev): the kernel's loop driver
(akuma.kernel.loopdev) serves major 7 — /dev/loop-control and loop0-7 are
made here, as Linux's devtmpfs has them at boot."""
import os

from akuma.abi import KernelError, makedev
from akuma.abi import stat as st
from akuma.abi.errors import ENOSPC

from akuma.vfs.memfs import MemFs, MemNode
from akuma.vfs.openfile import OpenFile, nbytes

CHRDEVS = {}
BLKDEVS = {}         # major -> driver
LOOP_MAJOR, LOOP_CONTROL_RDEV, LOOP_DEVICES = 7, makedev(10, 237), 8


def register_chrdev(rdev, driver):
    CHRDEVS[rdev] = driver


def register_blkdev(major, driver):
    BLKDEVS[major] = driver


def device_driver(kind, rdev):
    """The registered driver of a character or block node, or None."""
    if kind == st.S_IFCHR:
        return CHRDEVS.get(rdev)
    if kind == st.S_IFBLK:
        return BLKDEVS.get(((rdev >> 8) & 0xFFF) | ((rdev >> 32) & ~0xFFF))
    return None


class CharDevFile(OpenFile):
    """Base for stream devices: no file position (lseek answers 0, as the Linux
    memory devices do; a driver that cannot seek sets seekable = False)."""

    def _size(self):
        return 0

    def read(self, n):
        self._check_read()
        return self._read_at(n, 0)

    def readinto(self, views):
        self._check_read()
        return self._readinto_at(views, 0)

    def write(self, data):
        self._check_write()
        return self._write_at(data, 0)

    def lseek(self, off, whence):
        if not self.seekable:
            return super().lseek(off, whence)
        self.pos = 0
        return 0


class NullFile(CharDevFile):
    def _read_at(self, n, off):
        return b""

    def _readinto_at(self, views, off):
        return 0

    def _write_at(self, data, off):
        return nbytes(data)


class ZeroFile(CharDevFile):
    def _read_at(self, n, off):
        return bytes(n)

    def _readinto_at(self, views, off):
        total = 0
        for v in views:
            v[:] = bytes(len(v))
            total += len(v)
        return total

    def _write_at(self, data, off):
        return nbytes(data)


class FullFile(ZeroFile):
    def _write_at(self, data, off):
        raise KernelError(ENOSPC)


class RandomFile(CharDevFile):
    def _read_at(self, n, off):
        return os.urandom(n)

    def _readinto_at(self, views, off):
        total = 0
        for v in views:
            v[:] = os.urandom(len(v))
            total += len(v)
        return total

    def _write_at(self, data, off):
        return nbytes(data)      # "adds entropy"


MEM_DEVICES = [  # name, rdev, driver
    (b"null", makedev(1, 3), NullFile),
    (b"zero", makedev(1, 5), ZeroFile),
    (b"full", makedev(1, 7), FullFile),
    (b"random", makedev(1, 8), RandomFile),
    (b"urandom", makedev(1, 9), RandomFile),
]
for _name, _rdev, _driver in MEM_DEVICES:
    register_chrdev(_rdev, _driver)


class DevFs(MemFs):
    """/dev: a small memfs holding the memory devices; more can be added."""

    fstype = b"devtmpfs"

    def __init__(self):
        super().__init__(limit=1 << 20)
        for name, rdev, driver in MEM_DEVICES:
            self.add_device(name, rdev, driver)
        # Linux's devtmpfs links and the POSIX shared-memory directory.
        for name, target in ((b"fd", b"/proc/self/fd"), (b"stdin", b"/proc/self/fd/0"),
                             (b"stdout", b"/proc/self/fd/1"), (b"stderr", b"/proc/self/fd/2")):
            self.root.symlink(name, target)
        self.root.mkdir(b"shm", 0o1777)
        self.add_device(b"loop-control", LOOP_CONTROL_RDEV, mode=0o660)
        for n in range(LOOP_DEVICES):
            self.add_device(b"loop%d" % n, makedev(LOOP_MAJOR, n), mode=0o660, kind=st.S_IFBLK)

    def add_device(self, name, rdev, driver=None, mode=0o666, kind=st.S_IFCHR, uid=0, gid=0):
        """Create /dev/<name> (name may contain '/', parents must exist)."""
        d = self.root
        *dirs, leaf = name.split(b"/")
        for part in dirs:
            d = d.lookup(part)
        node = MemNode(self, kind | (mode & 0o7777), uid, gid, rdev, driver)
        return d._add(leaf, node)


def make_devfs():
    return DevFs()
