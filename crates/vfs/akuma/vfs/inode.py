"""The inode and filesystem base classes every filesystem builds on.

An Inode is a file in one filesystem: its attributes, its directory/symlink
operations, and ``open(flags)`` which returns the OpenFile for it.  The
defaults refuse every operation with the errno Linux gives for a file of the
wrong kind, so a filesystem overrides only what it supports."""
import itertools
import time

from akuma.abi import KernelError, Stat, makedev
from akuma.abi import stat as st
from akuma.abi.errors import EINVAL, EISDIR, ENOENT, ENOTDIR, EPERM

from akuma.vfs.dirent import dtype_of

# Anonymous device numbers (major 0), as Linux gives tmpfs/proc/... mounts.
_anon_minor = itertools.count(16)


def alloc_dev():
    return makedev(0, next(_anon_minor))


def now_ns():
    return time.time_ns()


class FileSystem:
    """One mounted filesystem instance: its st_dev, inode numbers and root."""

    readonly = False
    # mount() may mkdir missing mount points in this fs (not in a host dir).
    autocreate_mountpoints = True
    fstype = b"none"

    def __init__(self):
        self.dev = alloc_dev()
        self._inos = itertools.count(1)
        self.root = None

    def alloc_ino(self):
        return next(self._inos)

    def sync(self):
        """Write cached data to the backing store (nothing to do in memory)."""

    def unmount(self):
        """The last mount of this filesystem is going away."""
        self.sync()


class Inode:
    """Base inode.  Attributes mirror struct stat; times are ns."""

    def __init__(self, fs, mode, uid=0, gid=0, rdev=0, ino=None):
        self.fs = fs
        self.ino = fs.alloc_ino() if ino is None else ino
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.rdev = rdev
        self.nlink = 1
        t = now_ns()
        self.atime_ns = self.mtime_ns = self.ctime_ns = t

    # -- identity and attributes ------------------------------------------------------
    @property
    def key(self):
        """Hashable identity within the whole VFS (the mount table keys on it)."""
        return (self.fs, self.ino)

    @property
    def kind(self):
        return self.mode & st.S_IFMT

    @property
    def is_dir(self):
        return self.mode & st.S_IFMT == st.S_IFDIR

    @property
    def is_lnk(self):
        return self.mode & st.S_IFMT == st.S_IFLNK

    @property
    def is_reg(self):
        return self.mode & st.S_IFMT == st.S_IFREG

    @property
    def dtype(self):
        return dtype_of(self.mode)

    @property
    def size(self):
        return 0

    def stat(self):
        size = self.size
        return Stat(mode=self.mode, size=size, ino=self.ino, dev=self.fs.dev,
                    nlink=self.nlink, uid=self.uid, gid=self.gid, rdev=self.rdev,
                    blocks=(size + 4095) // 4096 * 8,
                    atime_ns=self.atime_ns, mtime_ns=self.mtime_ns, ctime_ns=self.ctime_ns)

    def touch(self, m=True, c=True):
        t = now_ns()
        if m:
            self.mtime_ns = t
        if c:
            self.ctime_ns = t

    def chmod(self, mode):
        self.mode = (self.mode & st.S_IFMT) | (mode & 0o7777)
        self.touch(m=False)

    def chown(self, uid, gid):
        if uid != -1:
            self.uid = uid
        if gid != -1:
            self.gid = gid
        self.touch(m=False)

    def utimens(self, atime_ns=None, mtime_ns=None):
        if atime_ns is not None:
            self.atime_ns = atime_ns
        if mtime_ns is not None:
            self.mtime_ns = mtime_ns
        self.touch(m=False)

    def truncate(self, length):
        raise KernelError(EISDIR if self.is_dir else EINVAL)

    # -- directory operations (names are single components, never . or ..,
    #    except lookup(b"..") which returns the parent within this fs) ---------------
    def _not_dir(self):
        raise KernelError(EPERM if self.is_dir else ENOTDIR)

    def lookup(self, name):
        if not self.is_dir:
            raise KernelError(ENOTDIR)
        raise KernelError(ENOENT)

    def entries(self):
        """[(name, ino, dtype)] without . and .."""
        if not self.is_dir:
            raise KernelError(ENOTDIR)
        return []

    def create(self, name, mode, uid=0, gid=0):
        self._not_dir()

    def mkdir(self, name, mode, uid=0, gid=0):
        self._not_dir()

    def mknod(self, name, mode, rdev=0, uid=0, gid=0):
        self._not_dir()

    def symlink(self, name, target, uid=0, gid=0):
        self._not_dir()

    def link(self, name, inode):
        self._not_dir()

    def unlink(self, name):
        self._not_dir()

    def rmdir(self, name):
        self._not_dir()

    def rename(self, oldname, newdir, newname):
        self._not_dir()

    # -- symlinks ------------------------------------------------------------------
    def readlink(self):
        raise KernelError(EINVAL)

    # -- opening -------------------------------------------------------------------
    def open(self, flags):
        """The OpenFile for this inode.  Handles O_TRUNC for regular files."""
        from akuma.vfs.openfile import OpenFile
        return OpenFile(self, flags)
