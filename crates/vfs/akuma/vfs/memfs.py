"""memfs: the in-memory filesystem (tmpfs).  Files are bytearrays; the fs
counts their bytes against a size limit (ENOSPC past it)."""
from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi import stat as st
from akuma.abi.errors import (EEXIST, EINVAL, EISDIR, ENOENT, ENOSPC, ENOTDIR, ENOTEMPTY,
                              ENXIO, EPERM, EXDEV)

from akuma.vfs.inode import FileSystem, Inode
from akuma.vfs.openfile import InodeFile, OpenFile, nbytes
from akuma.vfs.path import check_name

DEFAULT_LIMIT = 256 << 20


class MemFs(FileSystem):
    fstype = b"tmpfs"

    def __init__(self, limit=DEFAULT_LIMIT, mode=0o755, uid=0, gid=0):
        super().__init__()
        self.limit = limit
        self.used = 0
        self.root = MemDir(self, st.S_IFDIR | mode, uid, gid, parent=None)

    def mount_options(self):
        return [b"size=%dk" % (self.limit // 1024)]

    def reserve(self, want):
        """Bytes of ``want`` that fit under the limit."""
        return max(0, min(want, self.limit - self.used))


class MemDir(Inode):
    def __init__(self, fs, mode, uid=0, gid=0, parent=None):
        super().__init__(fs, mode, uid, gid)
        self.nlink = 2
        self.parent = parent or self
        self.children = {}

    @property
    def size(self):
        return 4096

    def lookup(self, name):
        if name == b".":
            return self
        if name == b"..":
            return self.parent
        try:
            return self.children[name]
        except KeyError:
            check_name(name)
            raise KernelError(ENOENT) from None

    def entries(self):
        return [(name, i.ino, i.dtype) for name, i in self.children.items()]

    def _add(self, name, inode):
        check_name(name)
        if name in self.children:
            raise KernelError(EEXIST)
        self.children[name] = inode
        self.touch()
        return inode

    def create(self, name, mode, uid=0, gid=0):
        return self._add(name, MemFile(self.fs, st.S_IFREG | (mode & 0o7777), uid, gid))

    def mkdir(self, name, mode, uid=0, gid=0):
        check_name(name)
        if name in self.children:
            raise KernelError(EEXIST)
        d = self._add(name, MemDir(self.fs, st.S_IFDIR | (mode & 0o7777), uid, gid, parent=self))
        self.nlink += 1
        return d

    def mknod(self, name, mode, rdev=0, uid=0, gid=0):
        kind = mode & st.S_IFMT
        if kind in (0, st.S_IFREG):
            return self.create(name, mode, uid, gid)
        if kind not in (st.S_IFCHR, st.S_IFBLK, st.S_IFIFO, st.S_IFSOCK):
            raise KernelError(EINVAL)
        return self._add(name, MemNode(self.fs, mode, uid, gid, rdev))

    def symlink(self, name, target, uid=0, gid=0):
        return self._add(name, MemSymlink(self.fs, target, uid, gid))

    def link(self, name, inode):
        if inode.fs is not self.fs:
            raise KernelError(EXDEV)
        if inode.is_dir:
            raise KernelError(EPERM)
        self._add(name, inode)
        inode.nlink += 1
        inode.touch(m=False)

    def _drop(self, inode):
        inode.nlink -= 1
        inode.touch(m=False)
        if inode.nlink == 0 and isinstance(inode, MemFile):
            inode.release()

    def unlink(self, name):
        inode = self.lookup(name)
        if inode.is_dir:
            raise KernelError(EISDIR)
        del self.children[name]
        self.touch()
        self._drop(inode)

    def rmdir(self, name):
        inode = self.lookup(name)
        if not inode.is_dir:
            raise KernelError(ENOTDIR)
        if inode.children:
            raise KernelError(ENOTEMPTY)
        del self.children[name]
        inode.nlink = 0
        self.nlink -= 1
        self.touch()

    def rename(self, oldname, newdir, newname):
        if newdir.fs is not self.fs:
            raise KernelError(EXDEV)
        src = self.lookup(oldname)
        check_name(newname)
        dst = newdir.children.get(newname)
        if dst is src:
            return
        if src.is_dir:
            d = newdir                    # no moving a directory under itself
            while True:
                if d is src:
                    raise KernelError(EINVAL)
                if d.parent is d:
                    break
                d = d.parent
            if dst is not None:
                if not dst.is_dir:
                    raise KernelError(ENOTDIR)
                if dst.children:
                    raise KernelError(ENOTEMPTY)
        elif dst is not None and dst.is_dir:
            raise KernelError(EISDIR)
        if dst is not None:
            del newdir.children[newname]
            if dst.is_dir:
                dst.nlink = 0
                newdir.nlink -= 1
            else:
                self._drop(dst)
        del self.children[oldname]
        newdir.children[newname] = src
        if src.is_dir and newdir is not self:
            src.parent = newdir
            self.nlink -= 1
            newdir.nlink += 1
        self.touch()
        newdir.touch()
        src.touch(m=False)


class MemFile(Inode):
    def __init__(self, fs, mode, uid=0, gid=0):
        super().__init__(fs, mode, uid, gid)
        self.data = bytearray()
        self.counted = True      # its bytes count against fs.used (until freed)

    @property
    def size(self):
        return len(self.data)

    def _account(self, delta):
        if self.counted:
            self.fs.used += delta

    def release(self):
        """Last link gone: give the space back (open files may still use it)."""
        if self.counted:
            self.fs.used -= len(self.data)
            self.counted = False

    def truncate(self, length):
        size = len(self.data)
        if length > size:
            if self.counted and self.fs.reserve(length - size) < length - size:
                raise KernelError(ENOSPC)
            self.data.extend(bytes(length - size))
        else:
            del self.data[length:]
        self._account(length - size)
        self.touch()

    def read_at(self, n, off):
        return bytes(self.data[off:off + n])

    def readinto_at(self, views, off):
        data = self.data
        size = len(data)
        total = 0
        with memoryview(data) as src:    # released: a live view would pin the size
            for v in views:
                if off >= size:
                    break
                k = min(len(v), size - off)
                v[:k] = src[off:off + k]
                off += k
                total += k
                if k < len(v):
                    break
        return total

    def write_at(self, data, off):
        n = nbytes(data)
        if n == 0:
            return 0
        buf = self.data
        size = len(buf)
        end = off + n
        if end > size:
            room = self.fs.reserve(end - size) if self.counted else end - size
            end = size + room
            if end <= off:
                raise KernelError(ENOSPC)
            n = end - off
            if off > size:
                buf.extend(bytes(off - size))
            self._account(end - size)
        buf[off:off + n] = data if n == nbytes(data) else memoryview(data).cast("B")[:n]
        self.touch()
        return n

    def open(self, flags):
        if flags & F.O_TRUNC and not flags & F.O_PATH:
            self.truncate(0)
        return MemOpenFile(self, flags)


class MemOpenFile(InodeFile):
    """A memfs file open: its bytes are the inode's."""


class MemSymlink(Inode):
    def __init__(self, fs, target, uid=0, gid=0):
        super().__init__(fs, st.S_IFLNK | 0o777, uid, gid)
        self.target = bytes(target)

    @property
    def size(self):
        return len(self.target)

    def readlink(self):
        return self.target


class MemNode(Inode):
    """A device, FIFO or socket node.  ``driver`` (an OpenFile subclass, called
    as driver(inode, flags)) serves opens; without one the char-device
    registry of devfs is asked by rdev, else ENXIO."""

    def __init__(self, fs, mode, uid=0, gid=0, rdev=0, driver=None):
        super().__init__(fs, mode, uid, gid, rdev)
        self.driver = driver

    def open(self, flags):
        if flags & F.O_PATH:
            return OpenFile(self, flags)
        driver = self.driver
        if driver is None and self.kind in (st.S_IFCHR, st.S_IFBLK):
            from akuma.vfs.devfs import device_driver
            driver = device_driver(self.kind, self.rdev)
        if driver is None:
            raise KernelError(ENXIO)
        return driver(self, flags)
