"""OpenFile: an open file description, what the kernel's fd tables point to.

dup()/fork() share one OpenFile (one offset, one set of status flags); the
kernel counts references and calls close() when the last fd goes.  The base
class serves any inode through positional hooks (_read_at, _write_at,
_readinto_at), so a filesystem only overrides those; directories are handled
here (getdents), as are O_PATH descriptors (everything but stat -> EBADF)."""
import weakref

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi.errors import EBADF, EINVAL, EISDIR, ENOTDIR, ENOTTY, ENXIO, ESPIPE

from akuma.vfs.dirent import DT_DIR, pack_dirents

# Flags an open file description keeps (F_GETFL); the rest act at open time.
_KEPT = ~(F.O_CREAT | F.O_EXCL | F.O_NOCTTY | F.O_TRUNC | F.O_CLOEXEC)


def nbytes(data):
    return data.nbytes if isinstance(data, memoryview) else len(data)


class OpenFile:
    seekable = True
    isatty = False

    def __init__(self, inode, flags, path=b"", loc=None):
        self.inode = inode
        self._flags = (flags & _KEPT) | F.O_LARGEFILE
        self.path = path            # absolute guest path (for /proc/<pid>/fd, fchdir)
        self.loc = loc              # the resolved namespace position, when known
        self.pos = 0
        self._dirents = None        # directory snapshot for getdents
        self.extra_dirents = ()     # mount points the underlying dir lacks
        self.host_fd = None
        self.closed = False

    # -- status flags ----------------------------------------------------------------
    @property
    def flags(self):
        return self._flags

    @flags.setter
    def flags(self, value):
        old, self._flags = self._flags, value
        self._flags_changed(old, value)

    def _flags_changed(self, old, new):
        pass

    @property
    def opath(self):
        return bool(self._flags & F.O_PATH)

    @property
    def readable(self):
        return not self.opath and self._flags & F.O_ACCMODE in (F.O_RDONLY, F.O_RDWR)

    @property
    def writable(self):
        return not self.opath and self._flags & F.O_ACCMODE in (F.O_WRONLY, F.O_RDWR)

    def _check_read(self):
        if not self.readable:
            raise KernelError(EBADF)
        if self.inode is not None and self.inode.is_dir:
            raise KernelError(EISDIR)

    def _check_write(self):
        if not self.writable:
            raise KernelError(EBADF)

    # -- positional hooks a filesystem overrides ---------------------------------------
    def _read_at(self, n, off):
        raise KernelError(EINVAL)

    def _write_at(self, data, off):
        raise KernelError(EINVAL)

    def _readinto_at(self, views, off):
        total = 0
        for v in views:
            data = self._read_at(len(v), off + total)
            v[:len(data)] = data
            total += len(data)
            if len(data) < len(v):
                break
        return total

    def _size(self):
        return self.inode.size

    # -- read/write ------------------------------------------------------------------
    def read(self, n):
        self._check_read()
        data = self._read_at(n, self.pos)
        self.pos += len(data)
        return data

    def readinto(self, views):
        self._check_read()
        n = self._readinto_at(views, self.pos)
        self.pos += n
        return n

    def write(self, data):
        self._check_write()
        if self._flags & F.O_APPEND:
            self.pos = self._size()
        n = self._write_at(data, self.pos)
        self.pos += n
        return n

    def writefrom(self, views):
        self._check_write()
        total = 0
        for v in views:
            n = self.write(v)
            total += n
            if n < nbytes(v):
                break
        return total

    def pread(self, n, off):
        self._check_read()
        if not self.seekable:
            raise KernelError(ESPIPE)
        if off < 0:
            raise KernelError(EINVAL)
        return self._read_at(n, off)

    def pwrite(self, data, off):
        self._check_write()
        if not self.seekable:
            raise KernelError(ESPIPE)
        if off < 0:
            raise KernelError(EINVAL)
        if self._flags & F.O_APPEND:       # Linux: pwrite on O_APPEND appends
            off = self._size()
        return self._write_at(data, off)

    def lseek(self, off, whence):
        if self.opath:
            raise KernelError(EBADF)
        if not self.seekable:
            raise KernelError(ESPIPE)
        if self.inode is not None and self.inode.is_dir:
            # Directory positions count entries; only SET and CUR make sense.
            if whence == F.SEEK_SET:
                new = off
            elif whence == F.SEEK_CUR:
                new = self.pos + off
            else:
                raise KernelError(EINVAL)
        elif whence == F.SEEK_SET:
            new = off
        elif whence == F.SEEK_CUR:
            new = self.pos + off
        elif whence == F.SEEK_END:
            new = self._size() + off
        elif whence in (F.SEEK_DATA, F.SEEK_HOLE):
            # No holes: all data up to the size, one hole at the end.
            size = self._size()
            if off < 0 or off >= size:
                raise KernelError(ENXIO)
            new = off if whence == F.SEEK_DATA else size
        else:
            raise KernelError(EINVAL)
        if new < 0:
            raise KernelError(EINVAL)
        self.pos = new
        return new

    # -- metadata ----------------------------------------------------------------------
    def stat(self):
        return self.inode.stat()

    def truncate(self, length):
        if self.opath:
            raise KernelError(EBADF)
        if length < 0 or not self.writable or not self.inode.is_reg:
            raise KernelError(EINVAL)
        self.inode.truncate(length)

    def fsync(self):
        if self.opath:
            raise KernelError(EBADF)
        cache = mapped_files.get(self.inode.key) if mapped_files and self.inode else None
        if cache is not None:
            cache.writeback()       # stores through shared mappings reach the file

    def ioctl(self, req, arg):
        raise KernelError(EBADF if self.opath else ENOTTY)

    def poll_ready(self):
        """(readable, writable) now: regular files and directories never block."""
        return True, True

    def close(self):
        self.closed = True

    # -- directories --------------------------------------------------------------------
    def _snapshot(self):
        d = self.inode
        try:
            parent = d.lookup(b"..").ino
        except KernelError:
            parent = d.ino
        ents = [(d.ino, DT_DIR, b"."), (parent, DT_DIR, b"..")]
        seen = set()
        for name, ino, typ in d.entries():
            seen.add(name)
            ents.append((ino, typ, name))
        for ino, typ, name in self.extra_dirents:
            if name not in seen:
                ents.append((ino, typ, name))
        return ents

    def getdents(self):
        """The entries from the current position on, as (ino, type, name); the
        caller packs some and calls consume_dirents(count)."""
        if self.opath:
            raise KernelError(EBADF)
        if not self.inode.is_dir:
            raise KernelError(ENOTDIR)
        if self._dirents is None or self.pos == 0:
            self._dirents = self._snapshot()     # rewinddir sees new entries
        return self._dirents[self.pos:]

    def consume_dirents(self, count):
        self.pos += count

    def getdents64(self, bufsize):
        """getdents64(2) in one call: packed records, b"" at the end."""
        ents = self.getdents()
        if not ents:
            return b""
        data, n = pack_dirents(ents, bufsize, base_off=self.pos)
        if n == 0:
            raise KernelError(EINVAL)
        self.pos += n
        return data

    def __repr__(self):
        return f"<{type(self).__name__} {self.path!r} flags={self._flags:#o}>"


# Page caches of mapped files, by inode key (akuma.mm keeps them; weakly
# here: a mapping or the kernel's file cache holds each one): read/write(2)
# must see bytes stored through a mapping, and mappings must see bytes
# written with write(2).
mapped_files = weakref.WeakValueDictionary()


def shrink_mapped(inode, length, old_size):
    """After truncate(2)/ftruncate(2) of a regular file from ``old_size`` to
    ``length``: a shrink also takes the pages past the new end out of its
    shared mappings (the mm's page cache registered in ``mapped_files``)."""
    cache = mapped_files.get(inode.key) if mapped_files and inode is not None else None
    if cache is not None and length < old_size:
        cache.shrink(length)


class InodeFile(OpenFile):
    """An open file whose bytes live in its inode (memfs, ext2): positioned
    I/O goes to the inode's read_at/readinto_at/write_at."""

    def _read_at(self, n, off):
        if mapped_files:
            _mapped_io(self.inode, off, n)
        return self.inode.read_at(n, off)

    def _readinto_at(self, views, off):
        if mapped_files:
            _mapped_io(self.inode, off, sum(nbytes(v) for v in views))
        return self.inode.readinto_at(views, off)

    def _write_at(self, data, off):
        cache = _mapped_io(self.inode, off, nbytes(data)) if mapped_files else None
        n = self.inode.write_at(data, off)
        if cache is not None:
            cache.after_write(off, n)
        return n


def _mapped_io(inode, off, n):
    cache = mapped_files.get(inode.key)
    if cache is not None:
        cache.before_io(off, n)
    return cache


class MappedIO:
    """For files whose I/O bypasses _read_at/_write_at (hostfs: the host fd):
    the same coherence with shared mappings, around each call."""

    def _cache(self):
        return mapped_files.get(self.inode.key) if mapped_files and self.inode else None

    def _around(self, op, off, n, wrote):
        cache = self._cache()
        if cache is None:
            return op()
        cache.before_io(self.pos if off is None else off, n)
        start = self.pos if off is None else off
        r = op()
        if wrote:
            cache.after_write(start, r)
        return r

    def read(self, n):
        return self._around(lambda: super(MappedIO, self).read(n), None, n, False)

    def readinto(self, views):
        n = sum(nbytes(v) for v in views)
        return self._around(lambda: super(MappedIO, self).readinto(views), None, n, False)

    def write(self, data):
        return self._around(lambda: super(MappedIO, self).write(data), None, nbytes(data), True)

    def writefrom(self, views):
        n = sum(nbytes(v) for v in views)
        return self._around(lambda: super(MappedIO, self).writefrom(views), None, n, True)

    def pread(self, n, off):
        return self._around(lambda: super(MappedIO, self).pread(n, off), off, n, False)

    def pwrite(self, data, off):
        return self._around(lambda: super(MappedIO, self).pwrite(data, off), off, nbytes(data),
                            True)
