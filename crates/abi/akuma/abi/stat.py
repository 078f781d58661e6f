"""struct stat as AArch64 (asm-generic) lays it out, and file mode bits."""
import struct
from dataclasses import dataclass

S_IFMT = 0o170000
S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK = 0o140000, 0o120000, 0o100000, 0o060000
S_IFDIR, S_IFCHR, S_IFIFO = 0o040000, 0o020000, 0o010000

# asm-generic struct stat: dev, ino, mode, nlink, uid, gid, rdev, __pad1,
# size, blksize, __pad2, blocks, atime, atime_ns, mtime, mtime_ns, ctime,
# ctime_ns, __unused[2]  — 128 bytes.
_STAT = struct.Struct("<QQIIIIQQqiiqqQqQqQII")
STAT_SIZE = _STAT.size


def makedev(major, minor):
    return ((major & 0xFFFFF000) << 32) | ((major & 0xFFF) << 8) | \
        ((minor & 0xFFFFFF00) << 12) | (minor & 0xFF)


@dataclass
class Stat:
    mode: int
    size: int = 0
    ino: int = 0
    dev: int = 0
    nlink: int = 1
    uid: int = 0
    gid: int = 0
    rdev: int = 0
    blksize: int = 4096
    blocks: int = 0
    atime_ns: int = 0
    mtime_ns: int = 0
    ctime_ns: int = 0

    def pack(self):
        def split(ns):
            return ns // 1_000_000_000, ns % 1_000_000_000
        at, mt, ct = split(self.atime_ns), split(self.mtime_ns), split(self.ctime_ns)
        return _STAT.pack(self.dev, self.ino, self.mode, self.nlink, self.uid, self.gid,
                          self.rdev, 0, self.size, self.blksize, 0, self.blocks,
                          at[0], at[1], mt[0], mt[1], ct[0], ct[1], 0, 0)

    @property
    def is_dir(self):
        return self.mode & S_IFMT == S_IFDIR

    @property
    def is_reg(self):
        return self.mode & S_IFMT == S_IFREG

    @property
    def is_lnk(self):
        return self.mode & S_IFMT == S_IFLNK
