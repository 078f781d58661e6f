"""hostfs: a host directory exposed in the guest.

Confinement: our path walk resolves every component itself, one lstat at a
time, so a HostInode's host path only ever names real directories below the
host root followed by one final name.  ".." is computed from that relative
path and stops at the root; symlinks are never followed by the host — the VFS
reads them (os.readlink) and walks the target in the guest namespace; files are
opened with O_NOFOLLOW.  Host OSErrors become KernelError(e.errno)."""
import fcntl as _hfcntl
import functools
import os
import stat as _hstat

from akuma.abi import KernelError, Stat, makedev
from akuma.abi import fcntl as F
from akuma.abi.errors import (EACCES, EINVAL, EIO, EISDIR, ENOENT, ENOTDIR, EOPNOTSUPP, EROFS,
                              ESPIPE, EXDEV)

from akuma.vfs.dirent import DT_UNKNOWN, dtype_of
from akuma.vfs.inode import FileSystem, Inode
from akuma.vfs.openfile import MappedIO, OpenFile
from akuma.vfs.path import check_name


def hostcall(fn):
    """Map host OSError to the guest errno (Linux on both sides)."""
    @functools.wraps(fn)
    def wrapper(*args, **kw):
        try:
            return fn(*args, **kw)
        except OSError as e:
            raise KernelError(e.errno or EIO) from None
    return wrapper


def _rdev(s):
    return makedev(os.major(s.st_rdev), os.minor(s.st_rdev)) if s.st_rdev else 0


def host_stat(s, dev):
    """A guest Stat from a host stat_result; st_dev replaced by ``dev``."""
    return Stat(mode=s.st_mode, size=s.st_size, ino=s.st_ino, dev=dev, nlink=s.st_nlink,
                uid=s.st_uid, gid=s.st_gid, rdev=_rdev(s), blksize=s.st_blksize,
                blocks=s.st_blocks, atime_ns=s.st_atime_ns, mtime_ns=s.st_mtime_ns,
                ctime_ns=s.st_ctime_ns)


class HostFs(FileSystem):
    fstype = b"hostfs"
    autocreate_mountpoints = False     # never litter the user's directory

    def __init__(self, hostdir, readonly=False):
        super().__init__()
        self.hostroot = os.fsencode(os.path.realpath(os.fsencode(hostdir)))
        self.readonly = readonly
        try:
            s = os.stat(self.hostroot)
        except OSError as e:
            raise KernelError(e.errno or ENOENT) from None
        if not _hstat.S_ISDIR(s.st_mode):
            raise KernelError(ENOTDIR)
        self.root = HostInode(self, b"", s)

    def hostpath(self, rel):
        return self.hostroot + b"/" + rel if rel else self.hostroot


def _give(fd, uid, gid):
    """A new host file gets the creating guest's ids when the host lets us
    (akuma running as root); otherwise it stays the host user's."""
    try:
        os.fchown(fd, uid, gid)
    except OSError:
        pass


class HostInode(Inode):
    """A host file named by its path relative to the host root.  Attributes
    are read fresh from the host on every stat()."""

    def __init__(self, fs, rel, s):
        self.fs = fs
        self.rel = rel
        self.ino = s.st_ino
        self._kind = _hstat.S_IFMT(s.st_mode)     # a file's type never changes
        self.rdev = _rdev(s)
        self._hkey = (fs, s.st_dev, s.st_ino)

    @property
    def key(self):
        return self._hkey

    @property
    def hostpath(self):
        return self.fs.hostpath(self.rel)

    def _child(self, name):
        if not name or b"/" in name or name in (b".", b".."):
            raise KernelError(EINVAL)
        check_name(name)
        return self.rel + b"/" + name if self.rel else name

    def _write_ok(self):
        if self.fs.readonly:
            raise KernelError(EROFS)

    # -- attributes --------------------------------------------------------------
    @hostcall
    def _lstat(self):
        return os.lstat(self.hostpath)

    @property
    def mode(self):
        """Fresh from the host: permission checks must see chmods made there."""
        return self._lstat().st_mode

    @property
    def kind(self):
        return self._kind

    @property
    def is_dir(self):
        return self._kind == _hstat.S_IFDIR

    @property
    def is_lnk(self):
        return self._kind == _hstat.S_IFLNK

    @property
    def is_reg(self):
        return self._kind == _hstat.S_IFREG

    @property
    def dtype(self):
        return dtype_of(self._kind)

    @property
    def size(self):
        return self._lstat().st_size

    @property
    def nlink(self):
        return self._lstat().st_nlink

    @property
    def uid(self):
        return self._lstat().st_uid

    @property
    def gid(self):
        return self._lstat().st_gid

    def stat(self):
        return host_stat(self._lstat(), self.fs.dev)

    @hostcall
    def chmod(self, mode):
        self._write_ok()
        if self.is_lnk:
            raise KernelError(EOPNOTSUPP)
        os.chmod(self.hostpath, mode & 0o7777)

    @hostcall
    def chown(self, uid, gid):
        self._write_ok()
        os.chown(self.hostpath, uid, gid, follow_symlinks=False)

    @hostcall
    def utimens(self, atime_ns=None, mtime_ns=None):
        self._write_ok()
        s = self._lstat()
        os.utime(self.hostpath, ns=(s.st_atime_ns if atime_ns is None else atime_ns,
                                    s.st_mtime_ns if mtime_ns is None else mtime_ns),
                 follow_symlinks=False)

    @hostcall
    def truncate(self, length):
        if self.is_dir:
            raise KernelError(EISDIR)
        self._write_ok()
        fd = os.open(self.hostpath, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.ftruncate(fd, length)
        finally:
            os.close(fd)

    # -- directories ---------------------------------------------------------------
    @hostcall
    def lookup(self, name):
        if not self.is_dir:
            raise KernelError(ENOTDIR)
        if name == b".":
            return self
        if name == b"..":
            if not self.rel:
                return self
            rel = self.rel.rpartition(b"/")[0]
        else:
            rel = self._child(name)
        return HostInode(self.fs, rel, os.lstat(self.fs.hostpath(rel)))

    @hostcall
    def entries(self):
        if not self.is_dir:
            raise KernelError(ENOTDIR)
        out = []
        with os.scandir(self.hostpath) as it:
            for e in it:
                try:
                    if e.is_dir(follow_symlinks=False):
                        typ = 4
                    elif e.is_symlink():
                        typ = 10
                    elif e.is_file(follow_symlinks=False):
                        typ = 8
                    else:
                        typ = dtype_of(e.stat(follow_symlinks=False).st_mode)
                except OSError:
                    typ = DT_UNKNOWN
                out.append((e.name, e.inode(), typ))
        return out

    @hostcall
    def create(self, name, mode, uid=0, gid=0):
        self._write_ok()
        path = self.fs.hostpath(self._child(name))
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                     mode & 0o7777)
        try:
            _give(fd, uid, gid)
            os.fchmod(fd, mode & 0o7777)    # the guest's umask applies, not the host's
        finally:
            os.close(fd)
        return self.lookup(name)

    @hostcall
    def mkdir(self, name, mode, uid=0, gid=0):
        self._write_ok()
        path = self.fs.hostpath(self._child(name))
        os.mkdir(path, mode & 0o7777)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            _give(fd, uid, gid)
            os.fchmod(fd, mode & 0o7777)
        finally:
            os.close(fd)
        return self.lookup(name)

    @hostcall
    def mknod(self, name, mode, rdev=0, uid=0, gid=0):
        self._write_ok()
        if mode & 0o170000 not in (0, 0o100000, 0o010000):
            raise KernelError(EACCES)     # no device nodes on the host
        os.mknod(self.fs.hostpath(self._child(name)), mode)
        return self.lookup(name)

    @hostcall
    def symlink(self, name, target, uid=0, gid=0):
        self._write_ok()
        os.symlink(target, self.fs.hostpath(self._child(name)))
        return self.lookup(name)

    @hostcall
    def link(self, name, inode):
        self._write_ok()
        if not isinstance(inode, HostInode) or inode.fs is not self.fs:
            raise KernelError(EXDEV)
        os.link(inode.hostpath, self.fs.hostpath(self._child(name)), follow_symlinks=False)

    @hostcall
    def unlink(self, name):
        self._write_ok()
        os.unlink(self.fs.hostpath(self._child(name)))

    @hostcall
    def rmdir(self, name):
        self._write_ok()
        os.rmdir(self.fs.hostpath(self._child(name)))

    @hostcall
    def rename(self, oldname, newdir, newname):
        self._write_ok()
        if not isinstance(newdir, HostInode) or newdir.fs is not self.fs:
            raise KernelError(EXDEV)
        os.rename(self.fs.hostpath(self._child(oldname)),
                  self.fs.hostpath(newdir._child(newname)))

    @hostcall
    def readlink(self):
        if not self.is_lnk:
            raise KernelError(EINVAL)
        return os.readlink(self.hostpath)

    # -- opening ---------------------------------------------------------------------
    @hostcall
    def open(self, flags):
        if flags & F.O_PATH or self.is_dir:
            return OpenFile(self, flags)
        if not self.is_reg:
            raise KernelError(EACCES)     # host devices/FIFOs would block the kernel
        acc = flags & F.O_ACCMODE
        if (acc != F.O_RDONLY or flags & F.O_TRUNC) and self.fs.readonly:
            raise KernelError(EROFS)
        hflags = {F.O_RDONLY: os.O_RDONLY, F.O_WRONLY: os.O_WRONLY}.get(acc, os.O_RDWR)
        hflags |= os.O_NOFOLLOW | os.O_CLOEXEC
        if flags & F.O_TRUNC:
            hflags |= os.O_TRUNC
        if flags & F.O_APPEND:
            hflags |= os.O_APPEND
        return HostFile(self, flags, os.open(self.hostpath, hflags))



class HostFdIO:
    """Reads and writes on ``self.host_fd`` (a host file, pipe or terminal),
    shared by hostfs files and host streams; ``seekable`` says whether
    offsets mean anything."""

    @hostcall
    def read(self, n):
        self._check_read()
        return os.read(self.host_fd, n)

    @hostcall
    def readinto(self, views):
        self._check_read()
        return os.readv(self.host_fd, views)

    @hostcall
    def write(self, data):
        self._check_write()
        return os.write(self.host_fd, data)

    @hostcall
    def writefrom(self, views):
        self._check_write()
        return os.writev(self.host_fd, views)

    @hostcall
    def pread(self, n, off):
        self._check_read()
        if not self.seekable:
            raise KernelError(ESPIPE)
        if off < 0:
            raise KernelError(EINVAL)
        return os.pread(self.host_fd, n, off)

    @hostcall
    def pwrite(self, data, off):
        self._check_write()
        if not self.seekable:
            raise KernelError(ESPIPE)
        if off < 0:
            raise KernelError(EINVAL)
        return os.pwrite(self.host_fd, data, off)

    @hostcall
    def lseek(self, off, whence):
        if not self.seekable:
            raise KernelError(ESPIPE)
        if whence not in (F.SEEK_SET, F.SEEK_CUR, F.SEEK_END, F.SEEK_DATA, F.SEEK_HOLE):
            raise KernelError(EINVAL)
        return os.lseek(self.host_fd, off, whence)   # host seek constants are Linux's


class HostFile(MappedIO, HostFdIO, OpenFile):
    """A regular host file: all I/O and the offset live in the real host fd."""

    def __init__(self, inode, flags, fd):
        super().__init__(inode, flags)
        self.host_fd = fd

    def _flags_changed(self, old, new):
        if (old ^ new) & F.O_APPEND and self.host_fd is not None:
            hfl = _hfcntl.fcntl(self.host_fd, _hfcntl.F_GETFL)
            hfl = hfl | os.O_APPEND if new & F.O_APPEND else hfl & ~os.O_APPEND
            _hfcntl.fcntl(self.host_fd, _hfcntl.F_SETFL, hfl)



    @property
    def pos(self):
        return os.lseek(self.host_fd, 0, os.SEEK_CUR) if self.host_fd is not None else 0

    @pos.setter
    def pos(self, value):
        if getattr(self, "host_fd", None) is not None:
            os.lseek(self.host_fd, value, os.SEEK_SET)

    @hostcall
    def stat(self):
        return host_stat(os.fstat(self.host_fd), self.inode.fs.dev)

    @hostcall
    def truncate(self, length):
        if length < 0 or not self.writable:
            raise KernelError(EINVAL)
        os.ftruncate(self.host_fd, length)

    @hostcall
    def fsync(self):
        cache = self._cache()
        if cache is not None:
            cache.writeback()       # stores through shared mappings reach the file first
        os.fsync(self.host_fd)

    def close(self):
        if self.host_fd is not None:
            fd, self.host_fd = self.host_fd, None
            os.close(fd)
        self.closed = True
