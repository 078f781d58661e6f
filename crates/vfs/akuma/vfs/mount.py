"""Mounts and namespace positions.

Mounts hang off a (parent mount, directory inode, name) triple — like a Linux
mount on a dentry — so a mount point need not exist in the parent fs (a host
sysroot without /dev still gets /dev).  A Loc is a resolved position: which
mount, which inode, and the path that led there (relative to the process root
the walk used), which the kernel keeps as cwd and file paths."""
import itertools

from akuma.vfs.path import join

# Per-mount flags (MS_* values of mount(2)); MS_RDONLY lives in ``readonly``.
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
_mount_ids = itertools.count(21)     # Linux numbers the first mounts from ~21


class Mount:
    def __init__(self, fs, parent=None, parent_dir=None, name=b"", path=b"/", readonly=False,
                 *, flags=0, source=None, root=None, root_path=b"/"):
        self.fs = fs
        self.root = fs.root if root is None else root   # a bind mount's root is any inode
        self.root_path = root_path     # where that root is inside fs (mountinfo's 4th field)
        self.parent = parent           # Mount it is attached to (None for the root)
        self.parent_dir = parent_dir   # inode of the directory holding the mount point
        self.name = name               # the mount point's name in parent_dir
        self.path = path               # absolute path in the global namespace
        self.readonly = readonly or fs.readonly
        self.flags = flags             # MS_NOSUID | MS_NODEV | MS_NOEXEC | atime flags
        self.source = source if source is not None else fs.fstype
        self.covered = None            # the mount this one is stacked over
        self.id = next(_mount_ids)
        self.expiry_mark = False       # umount2(MNT_EXPIRE) marks first, unmounts second

    @property
    def noexec(self):
        return bool(self.flags & MS_NOEXEC)

    @property
    def nodev(self):
        return bool(self.flags & MS_NODEV)

    @property
    def nosuid(self):
        return bool(self.flags & MS_NOSUID)

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
