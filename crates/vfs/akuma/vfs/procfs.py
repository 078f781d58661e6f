"""procfs: a read-only tree whose contents come from callbacks into the kernel.

A ProcDir holds a dict name -> node, where a node is an Inode or a callable
returning one (made on each lookup, e.g. per-pid directories later); it may
also have ``dynamic``, a callable returning more such entries.  ProcFile
contents and ProcSymlink targets are produced by callables at open/readlink
time, so they always reflect the current process."""
from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi import stat as st
from akuma.abi.errors import EACCES, ENOENT, ENOTDIR

from akuma.vfs.inode import FileSystem, Inode
from akuma.vfs.openfile import OpenFile


class ProcDir(Inode):
    def __init__(self, fs, entries=None, dynamic=None, mode=0o555, parent=None):
        super().__init__(fs, st.S_IFDIR | mode)
        self.nlink = 2
        self.parent = parent or self
        self.children = dict(entries or {})
        self.dynamic = dynamic

    def _all(self):
        d = dict(self.dynamic()) if self.dynamic else {}
        d.update(self.children)
        return d

    @staticmethod
    def _node(v):
        return v if isinstance(v, Inode) else v()

    def lookup(self, name):
        if name == b".":
            return self
        if name == b"..":
            return self.parent
        v = self.children.get(name)
        if v is None and self.dynamic:
            v = self.dynamic().get(name)
        if v is None:
            raise KernelError(ENOENT)
        return self._node(v)

    def entries(self):
        out = []
        for name, v in self._all().items():
            node = self._node(v)
            out.append((name, node.ino, node.dtype))
        return out


class ProcSymlink(Inode):
    def __init__(self, fs, target_fn, magic=None):
        super().__init__(fs, st.S_IFLNK | 0o777)
        self.target_fn = target_fn
        if magic is not None:
            # ``magic(mnt)``: the Loc the link stands for (None: follow the
            # text), for links that name an open object, as /proc/<pid>/fd/N.
            self.magic = magic

    def readlink(self):
        target = self.target_fn()
        if not target:
            raise KernelError(ENOENT)
        return target


class ProcFile(Inode):
    """A file whose bytes are ``content_fn()`` at open time (size 0 in stat, as
    on Linux)."""

    def __init__(self, fs, content_fn, mode=0o444):
        super().__init__(fs, st.S_IFREG | mode)
        self.content_fn = content_fn

    def open(self, flags):
        if flags & F.O_PATH:
            return OpenFile(self, flags)
        if flags & F.O_ACCMODE != F.O_RDONLY or flags & F.O_TRUNC:
            raise KernelError(EACCES)
        return SnapshotFile(self, flags, bytes(self.content_fn()))


class SnapshotFile(OpenFile):
    def __init__(self, inode, flags, data):
        super().__init__(inode, flags)
        self.data = data

    def _size(self):
        return len(self.data)

    def _read_at(self, n, off):
        return self.data[off:off + n]


class ProcFs(FileSystem):
    fstype = b"proc"
    autocreate_mountpoints = False

    def __init__(self, exe=None):
        """``exe``: callable returning the current process's executable path
        (bytes) for /proc/self/exe."""
        super().__init__()
        self.root = ProcDir(self)
        self.add_symlink(b"self/exe", exe or (lambda: b""))

    def _dir_for(self, path):
        *dirs, leaf = [p for p in path.split(b"/") if p]
        d = self.root
        for part in dirs:
            nxt = d.children.get(part)
            if nxt is None:
                nxt = d.children[part] = ProcDir(self, parent=d)
                d.nlink += 1
            if not isinstance(nxt, ProcDir):
                raise KernelError(ENOTDIR)
            d = nxt
        return d, leaf

    def add(self, path, node):
        """Install ``node`` (Inode or callable) at ``path`` inside /proc."""
        d, leaf = self._dir_for(path)
        d.children[leaf] = node
        return node

    def add_dir(self, path, dynamic=None):
        d, leaf = self._dir_for(path)
        node = ProcDir(self, dynamic=dynamic, parent=d)
        d.nlink += 1
        return self.add(path, node)

    def add_file(self, path, content_fn, mode=0o444):
        return self.add(path, ProcFile(self, content_fn, mode))

    def add_symlink(self, path, target_fn):
        return self.add(path, ProcSymlink(self, target_fn))
