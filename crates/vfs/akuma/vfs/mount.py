"""Mounts and namespace positions.

Mounts hang off a (parent mount, directory inode, name) triple — like a Linux
mount on a dentry — so a mount point need not exist in the parent fs (a host
sysroot without /dev still gets /dev).  A Loc is a resolved position: which
mount, which inode, and the path that led there (relative to the process root
the walk used), which the kernel keeps as cwd and file paths."""
from akuma.vfs.path import join


class Mount:
    def __init__(self, fs, parent=None, parent_dir=None, name=b"", path=b"/", readonly=False):
        self.fs = fs
        self.root = fs.root
        self.parent = parent           # Mount it is attached to (None for the root)
        self.parent_dir = parent_dir   # inode of the directory holding the mount point
        self.name = name               # the mount point's name in parent_dir
        self.path = path               # absolute path in the global namespace
        self.readonly = readonly or fs.readonly
        self.covered = None            # the mount this one is stacked over

    def __repr__(self):
        return f"<Mount {self.path!r} {self.fs.fstype.decode()}>"


class Loc:
    __slots__ = ("mnt", "inode", "parts")

    def __init__(self, mnt, inode, parts=()):
        self.mnt = mnt
        self.inode = inode
        self.parts = parts

    @property
    def path(self):
        return join(self.parts)

    def same(self, other):
        return self.mnt is other.mnt and self.inode.key == other.inode.key

    def __repr__(self):
        return f"<Loc {self.path!r} in {self.mnt!r}>"
