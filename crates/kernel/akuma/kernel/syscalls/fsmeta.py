"""File metadata and the rest of the file syscalls: links and nodes,
chmod/chown/utimensat with Linux's permission rules, truncate/fallocate,
statx/statfs, close_range, preadv/pwritev(2), copy_file_range, flock and
fcntl record locks (fslocks.py), renameat2's flags, chroot, syncfs.

The VFS acts as root; the uid rules of chmod/chown/utimensat/truncate/link
are checked here against the caller's effective ids (Linux's fsuid follows
euid here).  Order of checks follows Linux: argument validation, path
lookup, EROFS, then permission."""
import ctypes
import os
import struct
import time

from akuma.abi import KernelError, makedev
from akuma.abi import fcntl as F
from akuma.abi import stat as S
from akuma.abi.errors import (EACCES, EBADF, EBUSY, EEXIST, EFAULT, EFBIG, EINVAL, EISDIR,
                              ENODEV, ENOENT, ENOTDIR, EOPNOTSUPP, EOVERFLOW,
                              EPERM, EROFS, ESPIPE, EXDEV)
from akuma.kernel.syscalls import fslocks
from akuma.kernel.syscalls.args import s32, s64, path_arg, read_user, write_user
from akuma.kernel.syscalls.fs import (MAX_RW, _dir_of, _file, _gather, _iovecs, fscred,
                                      kill_suid, sys_readv, sys_writev)
from akuma.kernel.syscalls.registry import syscall
from akuma.vfs.openfile import shrink_mapped

AT_NO_AUTOMOUNT = 0x800
AT_STATX_SYNC_TYPE = 0x6000
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
KEEP = 0xFFFFFFFF                 # (uid_t)-1 / (gid_t)-1: leave unchanged
R_OK, W_OK, X_OK = 4, 2, 1

# -- credentials and permission ---------------------------------------------------------------


def _creds(t):
    return t.process.creds


def _root(t):
    return _creds(t).euid == 0


def _in_group(c, gid):
    return gid == c.egid or gid in (c.groups or ())


def _owner_or_root(t, st):
    c = _creds(t)
    return c.euid == 0 or c.euid == st.uid


def _permission(t, st, want):
    """generic_permission for the caller: EACCES unless ``want`` (R/W/X bits) is allowed."""
    c = _creds(t)
    mode = st.mode
    if c.euid == 0:
        if want & X_OK and (mode & S.S_IFMT) != S.S_IFDIR and not mode & 0o111:
            raise KernelError(EACCES)
        return
    if c.euid == st.uid:
        bits = (mode >> 6) & 7
    elif _in_group(c, st.gid):
        bits = (mode >> 3) & 7
    else:
        bits = mode & 7
    if want & ~bits:
        raise KernelError(EACCES)


# -- what a call acts on -----------------------------------------------------------------------

class Target:
    """A resolved file: by path (a Loc) or by descriptor (an OpenFile)."""
    __slots__ = ("loc", "file", "inode")

    def __init__(self, loc=None, file=None):
        self.loc = loc if loc is not None else getattr(file, "loc", None)
        self.file = file
        self.inode = loc.inode if loc is not None else getattr(file, "inode", None)

    @property
    def mount(self):
        return self.loc.mnt if self.loc is not None else None

    @property
    def readonly(self):
        m = self.mount
        return bool(m is not None and m.readonly)

    def stat(self):
        if self.file is not None:
            return self.file.stat()
        return self.inode.stat()

    def check_writable_fs(self):
        if self.readonly:
            raise KernelError(EROFS)


def _vfs(t):
    return t.kernel.vfs


def _resolve(t, path, cwd, follow=True):
    p = t.process
    return _vfs(t).resolve(path, cwd=cwd, root=p.root, follow=follow, cred=fscred(t))


def _target(t, dirfd, path, flags, follow=None, opath_ok=True):
    """The file an *at() call with AT_EMPTY_PATH/AT_SYMLINK_NOFOLLOW names."""
    if follow is None:
        follow = not flags & F.AT_SYMLINK_NOFOLLOW
    if not path:
        if not flags & F.AT_EMPTY_PATH:
            raise KernelError(ENOENT)
        dirfd = s32(dirfd)
        if dirfd == F.AT_FDCWD:
            return Target(loc=_resolve(t, t.process.cwd, b"/"))
        f = t.process.fds.get(dirfd)
        if not opath_ok and getattr(f, "opath", False):
            raise KernelError(EBADF)
        return Target(file=f)
    return Target(loc=_resolve(t, path, _dir_of(t, dirfd, path), follow))


def _fd_target(t, fd, opath_ok=False):
    f = t.process.fds.get(s32(fd))
    if not opath_ok and getattr(f, "opath", False):
        raise KernelError(EBADF)
    return Target(file=f)


def _is_host_inode(inode):
    return inode is not None and hasattr(inode, "hostpath") and hasattr(inode, "rel")


# -- chmod -------------------------------------------------------------------------------------

def do_chmod(t, tg, mode):
    mode &= 0o7777
    if tg.inode is None:             # pipes, host streams: nothing to change
        return 0
    tg.check_writable_fs()
    st = tg.stat()
    if not _owner_or_root(t, st):
        raise KernelError(EPERM)
    c = _creds(t)
    if c.euid != 0 and not _in_group(c, st.gid):
        mode &= ~0o2000              # S_ISGID: not their group
    if (st.mode & S.S_IFMT) == S.S_IFLNK:
        raise KernelError(EOPNOTSUPP)
    tg.inode.chmod(mode)
    return 0


@syscall("fchmod", "fd oct")
def sys_fchmod(t, fd, mode, *_):
    return do_chmod(t, _fd_target(t, fd), mode)


@syscall("fchmodat", "fd path oct")
def sys_fchmodat(t, dirfd, pathname, mode, *_):
    # The kernel's fchmodat has no flags argument (libc emulates
    # AT_SYMLINK_NOFOLLOW, answering EOPNOTSUPP for a symlink).
    path = path_arg(t, pathname)
    return do_chmod(t, _target(t, dirfd, path, 0), mode)


# musl tries fchmodat2 first for fchmodat(..., AT_SYMLINK_NOFOLLOW).
@syscall("fchmodat2", "fd path oct hex")
def sys_fchmodat2(t, dirfd, pathname, mode, flags, *_):
    flags = s32(flags)
    if flags & ~(F.AT_SYMLINK_NOFOLLOW | F.AT_EMPTY_PATH):
        return -EINVAL
    path = path_arg(t, pathname)
    tg = _target(t, dirfd, path, flags)
    if flags & F.AT_SYMLINK_NOFOLLOW and tg.inode is not None and tg.inode.is_lnk:
        return -EOPNOTSUPP
    return do_chmod(t, tg, mode)


# -- chown -------------------------------------------------------------------------------------

def _drop_sgid(t, st):
    """setattr_should_drop_sgid: a group-executable setgid file always loses
    S_ISGID on chown; a mandatory-locking one (no g+x) only when the caller
    is neither in the file's group nor root."""
    if not st.mode & 0o2000:
        return False
    if st.mode & 0o010:
        return True
    c = _creds(t)
    return c.euid != 0 and not _in_group(c, st.gid)


def do_chown(t, tg, uid, gid):
    uid &= 0xFFFFFFFF
    gid &= 0xFFFFFFFF
    if tg.inode is None:
        return 0
    tg.check_writable_fs()
    st = tg.stat()
    c = _creds(t)
    root = c.euid == 0
    if uid != KEEP and not root and not (c.euid == st.uid and uid == st.uid):
        raise KernelError(EPERM)
    if gid != KEEP and not root and not (c.euid == st.uid and (_in_group(c, gid) or gid == st.gid)):
        raise KernelError(EPERM)
    newmode = st.mode & 0o7777
    if (st.mode & S.S_IFMT) != S.S_IFDIR:
        newmode &= ~0o4000
        if _drop_sgid(t, st):
            newmode &= ~0o2000
    if newmode != st.mode & 0o7777 and not _owner_or_root(t, st):
        raise KernelError(EPERM)         # killing set-id bits is a chmod
    tg.inode.chown(-1 if uid == KEEP else uid, -1 if gid == KEEP else gid)
    if newmode != st.mode & 0o7777 and (st.mode & S.S_IFMT) != S.S_IFLNK:
        now = tg.stat().mode & 0o7777
        if now != newmode:
            tg.inode.chmod(newmode)
    return 0


@syscall("fchown", "fd int int")
def sys_fchown(t, fd, uid, gid, *_):
    return do_chown(t, _fd_target(t, fd), uid, gid)


@syscall("fchownat", "fd path int int hex")
def sys_fchownat(t, dirfd, pathname, uid, gid, flags, *_):
    flags = s32(flags)
    if flags & ~(F.AT_SYMLINK_NOFOLLOW | F.AT_EMPTY_PATH):
        return -EINVAL
    path = path_arg(t, pathname)
    return do_chown(t, _target(t, dirfd, path, flags), uid, gid)


# -- utimensat ---------------------------------------------------------------------------------

def _nsec_ok(ns):
    return ns in (UTIME_NOW, UTIME_OMIT) or 0 <= ns <= 999_999_999


@syscall("utimensat", "fd path hex hex")
def sys_utimensat(t, dirfd, pathname, times, flags, *_):
    flags = s32(flags)
    ts = None
    if times:
        a_s, a_ns, m_s, m_ns = struct.unpack("<qqqq", read_user(t, times, 32))
        if a_ns == UTIME_OMIT and m_ns == UTIME_OMIT:
            return 0                     # nothing to do: not even the path is checked
        ts = (a_s, a_ns, m_s, m_ns)
    if not pathname and s32(dirfd) != F.AT_FDCWD:
        if flags:
            return -EINVAL
        tg = _fd_target(t, dirfd)
    else:
        if flags & ~(F.AT_SYMLINK_NOFOLLOW | F.AT_EMPTY_PATH):
            return -EINVAL
        path = path_arg(t, pathname)     # NULL with AT_FDCWD: EFAULT
        tg = _target(t, dirfd, path, flags)
    if ts is not None:
        if not _nsec_ok(ts[1]) or not _nsec_ok(ts[3]):
            return -EINVAL
        if ts[1] == UTIME_NOW and ts[3] == UTIME_NOW:
            ts = None
    if tg.inode is None:
        return 0
    tg.check_writable_fs()
    st = tg.stat()
    if ts is None:
        if not _owner_or_root(t, st):
            _permission(t, st, W_OK)
    elif not _owner_or_root(t, st):
        raise KernelError(EPERM)
    now = time.time_ns()
    if ts is None:
        atime = mtime = now
    else:
        def pick(sec, ns):
            if ns == UTIME_OMIT:
                return None
            if ns == UTIME_NOW:
                return now
            return sec * 1_000_000_000 + ns
        atime, mtime = pick(ts[0], ts[1]), pick(ts[2], ts[3])
    tg.inode.utimens(atime, mtime)
    return 0


# -- links and nodes -----------------------------------------------------------------------------

@syscall("linkat", "fd path fd path hex")
def sys_linkat(t, olddirfd, oldpath, newdirfd, newpath, flags, *_):
    flags = s32(flags)
    if flags & ~(F.AT_SYMLINK_FOLLOW | F.AT_EMPTY_PATH):
        return -EINVAL
    p = t.process
    vfs = _vfs(t)
    old = path_arg(t, oldpath)
    new = path_arg(t, newpath)
    follow = bool(flags & F.AT_SYMLINK_FOLLOW)
    if not old and flags & F.AT_EMPTY_PATH:
        tg = _target(t, olddirfd, old, flags)
        if tg.inode is None:
            return -ENOENT
        if tg.inode.is_dir:
            return -EPERM
        # Link the open file through the path it was opened by, if that
        # still names it (an unlinked file has no name: ENOENT).
        src = tg.file.path if tg.file is not None else tg.loc.path
        try:
            here = vfs.resolve(src, cwd=b"/", root=p.root, follow=False)
        except KernelError:
            return -ENOENT
        if here.inode.key != tg.inode.key or tg.stat().nlink == 0:
            return -ENOENT
        old, oldcwd, follow = src, b"/", False
        st = tg.stat()
    else:
        oldcwd = _dir_of(t, olddirfd, old)
        st = _resolve(t, old, oldcwd, follow).inode.stat()
    newcwd = _dir_of(t, newdirfd, new)
    c = _creds(t)
    if c.euid != 0 and c.euid != st.uid:
        # fs.protected_hardlinks: only to regular, non-set-id files the caller
        # may read and write.
        kind = st.mode & S.S_IFMT
        setid = st.mode & 0o4000 or (st.mode & 0o2010) == 0o2010
        ok = kind == S.S_IFREG and not setid
        if ok:
            try:
                _permission(t, st, R_OK | W_OK)
            except KernelError:
                ok = False
        if not ok:
            _check_new_name(t, new, newcwd)
            raise KernelError(EPERM)
    vfs.link(old, new, cwd=oldcwd, newcwd=newcwd, root=p.root, follow=follow, cred=fscred(t))
    return 0


def _check_new_name(t, path, cwd):
    """The errors creating ``path`` gives before any permission check:
    ENOENT/ENOTDIR for the parent, EEXIST for the name."""
    vfs = _vfs(t)
    try:
        vfs.resolve(path, cwd=cwd, root=t.process.root, follow=False)
    except KernelError as e:
        if e.errno != ENOENT:
            raise
        parent = path.rstrip(b"/").rpartition(b"/")[0] if b"/" in path.rstrip(b"/") else b"."
        if path.startswith(b"/") and not parent:
            parent = b"/"
        d = vfs.resolve(parent, cwd=cwd, root=t.process.root)
        if not d.inode.is_dir:
            raise KernelError(ENOTDIR) from None
        return
    raise KernelError(EEXIST)


def _decode_dev(dev):
    """new_decode_dev: the 32-bit dev_t the syscall takes."""
    dev &= 0xFFFFFFFF
    major = (dev & 0xFFF00) >> 8
    minor = (dev & 0xFF) | ((dev >> 12) & 0xFFF00)
    return makedev(major, minor)


@syscall("mknodat", "fd path oct hex")
def sys_mknodat(t, dirfd, pathname, mode, dev, *_):
    mode &= 0xFFFFFFFF
    kind = mode & S.S_IFMT
    if kind == S.S_IFDIR:
        return -EPERM
    if kind not in (0, S.S_IFREG, S.S_IFCHR, S.S_IFBLK, S.S_IFIFO, S.S_IFSOCK):
        return -EINVAL
    path = path_arg(t, pathname)
    p = t.process
    cwd = _dir_of(t, dirfd, path)
    if kind in (S.S_IFCHR, S.S_IFBLK) and not _root(t):
        _check_new_name(t, path, cwd)
        d = _parent_loc(t, path, cwd)
        if d is not None and d.mnt.readonly:
            return -EROFS
        return -EPERM
    rdev = _decode_dev(dev) if kind in (S.S_IFCHR, S.S_IFBLK) else 0
    if kind == 0:
        mode |= S.S_IFREG
    c = _creds(t)
    _vfs(t).mknod(path, mode & (S.S_IFMT | 0o7777), rdev, cwd=cwd, root=p.root, umask=p.umask,
                  cred=fscred(t),
                  uid=c.euid, gid=c.egid)
    return 0


def _parent_loc(t, path, cwd):
    stripped = path.rstrip(b"/")
    if b"/" not in stripped:
        parent = b"."
    else:
        parent = stripped.rpartition(b"/")[0] or b"/"
    try:
        return _vfs(t).resolve(parent, cwd=cwd, root=t.process.root)
    except KernelError:
        return None


# -- truncate / fallocate --------------------------------------------------------------------------

@syscall("truncate", "path int")
def sys_truncate(t, pathname, length, *_):
    length = s64(length)
    if length < 0:
        return -EINVAL
    path = path_arg(t, pathname)
    loc = _resolve(t, path, t.process.cwd)
    inode = loc.inode
    if inode.is_dir:
        return -EISDIR
    if not inode.is_reg:
        return -EINVAL
    if loc.mnt.readonly:
        return -EROFS
    _permission(t, inode.stat(), W_OK)
    old_size = inode.stat().size
    inode.truncate(length)
    shrink_mapped(inode, length, old_size)
    if not _root(t):
        kill_suid(Target(loc=loc))
    return 0


FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_NO_HIDE_STALE = 0x04
FALLOC_FL_COLLAPSE_RANGE = 0x08
FALLOC_FL_ZERO_RANGE = 0x10
FALLOC_FL_INSERT_RANGE = 0x20
FALLOC_FL_UNSHARE_RANGE = 0x40
FALLOC_FL_WRITE_ZEROES = 0x80
_FALLOC_MODES = (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE |
                 FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_WRITE_ZEROES)
MAX_LFS_FILESIZE = (1 << 63) - 1
_U64 = (1 << 64) - 1

_libc = None


def _host_fallocate(fd, mode, off, length):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
    if _libc.fallocate(fd, mode, off, length) != 0:
        raise KernelError(ctypes.get_errno() or EOPNOTSUPP)


@syscall("fallocate", "fd hex int int")
def sys_fallocate(t, fd, mode, offset, length, *_):
    f = t.process.fds.get(s32(fd))
    if getattr(f, "opath", False):
        return -EBADF
    mode, offset, length = s32(mode), s64(offset), s64(length)
    if offset < 0 or length <= 0:
        return -EINVAL
    # Linux >= 6.11: one mode (allocate, punch, collapse, zero, insert,
    # unshare, write-zeroes) plus the KEEP_SIZE flag.
    if mode & ~(_FALLOC_MODES | FALLOC_FL_KEEP_SIZE):
        return -EOPNOTSUPP
    which = mode & _FALLOC_MODES
    if which == FALLOC_FL_PUNCH_HOLE:
        if not mode & FALLOC_FL_KEEP_SIZE:
            return -EOPNOTSUPP
    elif which in (FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_WRITE_ZEROES):
        if mode & FALLOC_FL_KEEP_SIZE:
            return -EOPNOTSUPP
    elif which not in (0, FALLOC_FL_UNSHARE_RANGE, FALLOC_FL_ZERO_RANGE):
        return -EOPNOTSUPP
    if not f.writable:
        return -EBADF
    st = f.stat()
    kind = st.mode & S.S_IFMT
    if kind == S.S_IFIFO or hasattr(f, "pipe"):
        return -ESPIPE
    if kind == S.S_IFDIR:
        return -EISDIR
    if kind not in (S.S_IFREG, S.S_IFBLK):
        return -ENODEV
    if offset + length > MAX_LFS_FILESIZE:
        return -EFBIG
    if kind != S.S_IFREG:
        return -EOPNOTSUPP
    if f.host_fd is not None and _is_host_inode(getattr(f, "inode", None)):
        _host_fallocate(f.host_fd, mode, offset, length)     # the host fs decides
        return 0
    end = offset + length
    if mode == 0:
        if end > st.size:
            f.truncate(end)
        return 0
    if mode == FALLOC_FL_KEEP_SIZE:
        return 0
    if mode == FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
        stop = min(end, st.size)
        pos = offset
        while pos < stop:
            n = min(stop - pos, 1 << 20)
            f._write_at(b"\0" * n, pos)
            pos += n
        return 0
    return -EOPNOTSUPP


# -- fadvise64 ---------------------------------------------------------------------------------------
POSIX_FADV_NORMAL, POSIX_FADV_NOREUSE = 0, 5      # NORMAL RANDOM SEQUENTIAL WILLNEED DONTNEED NOREUSE


@syscall("fadvise64", "fd int int int")
def sys_fadvise64(t, fd, offset, length, advice, *_):
    """generic_fadvise with nothing to tune: EBADF (O_PATH too), ESPIPE for
    a pipe or FIFO (before anything else), EINVAL for a negative length or
    an unknown advice; else 0 (sockets and devices included, as Linux,
    whose noop backing device ignores the advice)."""
    f = _file(t, fd)
    if (f.stat().mode & S.S_IFMT) == S.S_IFIFO or hasattr(f, "pipe"):
        return -ESPIPE
    if s64(length) < 0 or not POSIX_FADV_NORMAL <= s32(advice) <= POSIX_FADV_NOREUSE:
        return -EINVAL
    return 0


# -- statx / statfs ---------------------------------------------------------------------------------

STATX_BASIC_STATS = 0x7FF
STATX_BTIME = 0x800
STATX_MNT_ID = 0x1000
STATX__RESERVED = 0x80000000
STATX_ATTR_MOUNT_ROOT = 0x2000
STATX_SIZE = 256
_STATX_HEAD = struct.Struct("<IIQIIIHHQQQQ")      # 64 bytes
_STATX_TS = struct.Struct("<qIi")                 # 16 bytes
_STATX_TAIL = struct.Struct("<IIIIQ")             # rdev, dev, mnt_id


def _major(dev):
    return ((dev >> 8) & 0xFFF) | ((dev >> 32) & 0xFFFFF000)


def _minor(dev):
    return (dev & 0xFF) | ((dev >> 12) & 0xFFFFFF00)


def _mnt_id(t, mnt):
    return 0 if mnt is None else mnt.id


def pack_statx(st, attributes=0, mnt_id=0):
    def ts(ns):
        return _STATX_TS.pack(ns // 1_000_000_000, ns % 1_000_000_000, 0)
    mask = STATX_BASIC_STATS | (STATX_MNT_ID if mnt_id else 0)
    head = _STATX_HEAD.pack(mask, st.blksize, attributes, st.nlink, st.uid, st.gid,
                            st.mode & 0xFFFF, 0, st.ino, st.size, st.blocks,
                            STATX_ATTR_MOUNT_ROOT)
    body = (head + ts(st.atime_ns) + bytes(16) + ts(st.ctime_ns) + ts(st.mtime_ns)
            + _STATX_TAIL.pack(_major(st.rdev), _minor(st.rdev), _major(st.dev),
                               _minor(st.dev), mnt_id))
    return body + bytes(STATX_SIZE - len(body))


@syscall("statx", "fd path hex hex hex")
def sys_statx(t, dirfd, pathname, flags, mask, buf, *_):
    flags = s32(flags)
    mask &= 0xFFFFFFFF
    if mask & STATX__RESERVED:
        return -EINVAL
    if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE:
        return -EINVAL
    if flags & ~(F.AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | F.AT_EMPTY_PATH | AT_STATX_SYNC_TYPE):
        return -EINVAL
    if not pathname and flags & F.AT_EMPTY_PATH:
        path = b""                       # Linux 6.11: NULL means ""
    else:
        path = path_arg(t, pathname)
    tg = _target(t, dirfd, path, flags)
    st = tg.stat()
    loc = tg.loc
    attrs = 0
    if loc is not None and loc.inode.key == loc.mnt.root.key:
        attrs |= STATX_ATTR_MOUNT_ROOT
    write_user(t, buf, pack_statx(st, attrs, _mnt_id(t, tg.mount)))
    return 0


TMPFS_MAGIC = 0x01021994
PROC_SUPER_MAGIC = 0x9FA0
EXT2_SUPER_MAGIC = 0xEF53
ST_RDONLY, ST_NOSUID, ST_NODEV, ST_NOEXEC, ST_VALID, ST_RELATIME = 1, 2, 4, 8, 0x20, 0x1000
# asm-generic struct statfs on 64-bit: 7 longs, fsid (2 ints), namelen, frsize,
# flags, spare[4] — 120 bytes.
STATFS = struct.Struct("<qqQQQQQiiqqq32x")
assert STATFS.size == 120
_MAGIC = {b"tmpfs": TMPFS_MAGIC, b"devtmpfs": TMPFS_MAGIC, b"proc": PROC_SUPER_MAGIC,
          b"ext2": EXT2_SUPER_MAGIC}


def _host_statfs(hostpath):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
    buf = ctypes.create_string_buffer(STATFS.size)
    if _libc.statfs(ctypes.c_char_p(hostpath), buf) != 0:
        raise KernelError(ctypes.get_errno() or EFAULT)
    return list(STATFS.unpack(buf.raw))


def statfs_of(tg):
    """The 120-byte struct statfs for a Target."""
    inode = tg.inode
    fs = getattr(inode, "fs", None)
    mnt = tg.mount
    flags = ST_VALID | (ST_RDONLY if (mnt is not None and mnt.readonly) or
                        getattr(fs, "readonly", False) else 0)
    if mnt is not None:      # per-mount MS_NOSUID/NODEV/NOEXEC are ST_* bits too
        flags |= mnt.flags & (ST_NOSUID | ST_NODEV | ST_NOEXEC)
    if _is_host_inode(inode) and os.uname().sysname == "Linux":
        v = _host_statfs(inode.hostpath)
        if flags & ST_RDONLY:
            v[10] |= ST_RDONLY
        return STATFS.pack(*v)
    dev = getattr(fs, "dev", 0)
    fsid = (dev & 0xFFFFFFFF, dev >> 32)
    info = None
    if fs is not None and hasattr(fs, "statfs"):
        info = fs.statfs()
    if info is not None:
        return STATFS.pack(info.get("f_type", 0), info.get("f_bsize", 4096),
                           info.get("f_blocks", 0), info.get("f_bfree", 0),
                           info.get("f_bavail", 0), info.get("f_files", 0),
                           info.get("f_ffree", 0), *info.get("f_fsid", fsid),
                           info.get("f_namelen", 255), info.get("f_frsize",
                                                               info.get("f_bsize", 4096)),
                           info.get("f_flags", flags))
    fstype = getattr(fs, "fstype", b"")
    magic = _MAGIC.get(fstype, TMPFS_MAGIC if fs is None else 0)
    if fstype in (b"tmpfs",) and hasattr(fs, "limit"):
        blocks = fs.limit // 4096
        bfree = max(0, fs.limit - getattr(fs, "used", 0)) // 4096
        files = fs.limit // 4096 // 2
        ffree = files
        return STATFS.pack(magic, 4096, blocks, bfree, bfree, files, ffree, *fsid, 255, 4096,
                           flags | ST_NOSUID | ST_NODEV | ST_RELATIME)
    if fstype == b"proc":
        return STATFS.pack(magic, 4096, 0, 0, 0, 0, 0, *fsid, 255, 4096,
                           flags | ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_RELATIME)
    if fstype == b"devtmpfs":
        return STATFS.pack(magic, 4096, 0, 0, 0, 0, 0, *fsid, 255, 4096,
                           flags | ST_NOSUID | ST_RELATIME)
    return STATFS.pack(magic, 4096, 0, 0, 0, 0, 0, *fsid, 255, 4096, flags)


@syscall("statfs", "path hex")
def sys_statfs(t, pathname, buf, *_):
    path = path_arg(t, pathname)
    tg = Target(loc=_resolve(t, path, t.process.cwd))
    write_user(t, buf, statfs_of(tg))
    return 0


@syscall("fstatfs", "fd hex")
def sys_fstatfs(t, fd, buf, *_):
    tg = _fd_target(t, fd, opath_ok=True)
    write_user(t, buf, statfs_of(tg))
    return 0


# -- close_range ----------------------------------------------------------------------------------

CLOSE_RANGE_UNSHARE = 2
CLOSE_RANGE_CLOEXEC = 4


@syscall("close_range", "int int hex")
def sys_close_range(t, first, last, flags, *_):
    first &= 0xFFFFFFFF
    last &= 0xFFFFFFFF
    flags &= 0xFFFFFFFF
    if flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC):
        return -EINVAL
    if first > last:
        return -EINVAL
    fds = t.process.fds
    for fd, _f in fds.items():
        if first <= fd <= last:
            if flags & CLOSE_RANGE_CLOEXEC:
                fds.set_cloexec(fd, True)
            else:
                fds.close(fd)
    return 0


# -- preadv / pwritev ---------------------------------------------------------------------------------

RWF_HIPRI, RWF_DSYNC, RWF_SYNC, RWF_NOWAIT, RWF_APPEND = 0x1, 0x2, 0x4, 0x8, 0x10
RWF_NOAPPEND, RWF_ATOMIC, RWF_DONTCACHE = 0x20, 0x40, 0x80
_RWF_KNOWN = 0xFF
_RWF_OK = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND | RWF_NOAPPEND


def _check_rwf(flags, write):
    if flags & ~_RWF_KNOWN:
        raise KernelError(EOPNOTSUPP)
    if flags & (RWF_ATOMIC | RWF_DONTCACHE):
        raise KernelError(EOPNOTSUPP)
    if flags & RWF_APPEND and flags & RWF_NOAPPEND:
        raise KernelError(EINVAL)


def _scatter(t, vecs, data):
    pos = 0
    for base, length in vecs:
        if pos >= len(data):
            break
        chunk = data[pos:pos + length]
        if chunk:
            write_user(t, base, chunk)
        pos += len(chunk)


def _preadv(t, fd, iov, iovcnt, off, flags=0):
    f = _file(t, fd, readable=True)
    vecs = _iovecs(t, iov, iovcnt)
    if not f.seekable or hasattr(f, "pipe"):
        raise KernelError(ESPIPE)
    if off < 0:
        raise KernelError(EINVAL)
    _check_rwf(flags, False)
    total = min(sum(length for _, length in vecs), MAX_RW)
    if total == 0:
        return 0
    data = f.pread(total, off)
    _scatter(t, vecs, data)
    return len(data)


def _pwritev(t, fd, iov, iovcnt, off, flags=0):
    f = _file(t, fd, writable=True)
    vecs = _iovecs(t, iov, iovcnt)
    if not f.seekable or hasattr(f, "pipe"):
        raise KernelError(ESPIPE)
    if off < 0:
        raise KernelError(EINVAL)
    _check_rwf(flags, True)
    data = b"".join(bytes(v) for v in _gather(t, vecs, False))[:MAX_RW]
    if not data:
        return 0
    if flags & (RWF_APPEND | RWF_NOAPPEND) and f.host_fd is not None and \
            hasattr(os, "pwritev"):
        hf = (os.RWF_APPEND if flags & RWF_APPEND else 0) | \
             (getattr(os, "RWF_NOAPPEND", 0x20) if flags & RWF_NOAPPEND else 0)
        try:
            return os.pwritev(f.host_fd, [data], off, hf)
        except OSError as e:
            raise KernelError(e.errno) from None
    if flags & RWF_APPEND:
        off = f.stat().size
        if not f.flags & F.O_APPEND:
            return f.pwrite(data, off)
    if flags & RWF_NOAPPEND and f.flags & F.O_APPEND and hasattr(f, "_write_at"):
        f._check_write()
        return f._write_at(data, off)
    return f.pwrite(data, off)


@syscall("preadv", "fd hex int int")
def sys_preadv(t, fd, iov, iovcnt, pos_l, pos_h, *_):
    return _preadv(t, fd, iov, s32(iovcnt) & 0xFFFFFFFF, s64(pos_l))


@syscall("pwritev", "fd hex int int")
def sys_pwritev(t, fd, iov, iovcnt, pos_l, pos_h, *_):
    return _pwritev(t, fd, iov, s32(iovcnt) & 0xFFFFFFFF, s64(pos_l))


@syscall("preadv2", "fd hex int int int hex")
def sys_preadv2(t, fd, iov, iovcnt, pos_l, pos_h, flags, *_):
    pos, flags = s64(pos_l), s32(flags) & 0xFFFFFFFF
    if pos == -1:
        _file(t, fd, readable=True)
        _check_rwf(flags, False)
        return sys_readv(t, fd, iov, iovcnt)
    return _preadv(t, fd, iov, iovcnt & 0xFFFFFFFF, pos, flags)


@syscall("pwritev2", "fd hex int int int hex")
def sys_pwritev2(t, fd, iov, iovcnt, pos_l, pos_h, flags, *_):
    pos, flags = s64(pos_l), s32(flags) & 0xFFFFFFFF
    if pos == -1:
        f = _file(t, fd, writable=True)
        _check_rwf(flags, True)
        if flags & RWF_APPEND and f.seekable and not hasattr(f, "pipe"):
            f.lseek(0, F.SEEK_END)
        return sys_writev(t, fd, iov, iovcnt)
    return _pwritev(t, fd, iov, iovcnt & 0xFFFFFFFF, pos, flags)


# -- copy_file_range ---------------------------------------------------------------------------------

@syscall("copy_file_range", "fd hex fd hex size hex")
def sys_copy_file_range(t, fd_in, off_in, fd_out, off_out, length, flags, *_):
    fds = t.process.fds
    fin = fds.get(s32(fd_in))
    fout = fds.get(s32(fd_out))
    if getattr(fin, "opath", False) or getattr(fout, "opath", False):
        return -EBADF
    pin = pout = None
    if off_in:
        (pin,) = struct.unpack("<q", read_user(t, off_in, 8))
    if off_out:
        (pout,) = struct.unpack("<q", read_user(t, off_out, 8))
    if flags:
        return -EINVAL
    sin, sout = fin.stat(), fout.stat()
    if sin.is_dir or sout.is_dir:
        return -EISDIR
    if not sin.is_reg or not sout.is_reg or hasattr(fin, "pipe") or hasattr(fout, "pipe"):
        return -EINVAL
    if not fin.readable or not fout.writable or fout.flags & F.O_APPEND:
        return -EBADF
    if pin is None:
        pin = fin.pos
    if pout is None:
        pout = fout.pos
    ia, ib = getattr(fin, "inode", None), getattr(fout, "inode", None)
    if ia is not None and ib is not None and getattr(ia, "fs", None) is not getattr(ib, "fs", 0):
        return -EXDEV
    # generic_copy_file_checks, with its unsigned arithmetic.
    count = length & _U64
    uin, uout = pin & _U64, pout & _U64
    if uin + count > _U64 or uout + count > _U64:
        return -EOVERFLOW
    size = sin.size
    count = 0 if pin >= size else min(count, (size - uin) & _U64)
    same = ia is not None and ib is not None and ia.key == ib.key
    if same and uout + count > uin and uout < uin + count:
        return -EINVAL
    # rw_verify_area on both sides
    if count >= 1 << 63 or pin < 0 or pout < 0 or pin + count > MAX_LFS_FILESIZE or \
            pout + count > MAX_LFS_FILESIZE:
        return -EINVAL
    length = min(count, MAX_RW)
    done = 0
    while done < length:
        data = fin.pread(min(length - done, 1 << 20), pin + done)
        if not data:
            break
        n = fout.pwrite(data, pout + done)
        done += n
        if n < len(data):
            break
    if done <= 0:
        return done
    if off_in:
        write_user(t, off_in, struct.pack("<q", pin + done))
    else:
        fin.pos = pin + done
    if off_out:
        write_user(t, off_out, struct.pack("<q", pout + done))
    else:
        fout.pos = pout + done
    return done


# -- locks ----------------------------------------------------------------------------------------

@syscall("flock", "fd hex")
def sys_flock(t, fd, op, *_):
    return fslocks.do_flock(t, fd, op)


record_lock = fslocks.record_lock
RECORD_LOCK_CMDS = fslocks.RECORD_CMDS


# -- renameat2 flags --------------------------------------------------------------------------------

RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4


def renameat2_flags(t, olddirfd, oldpath, newdirfd, newpath, flags):
    """renameat2(2) with RENAME_NOREPLACE / RENAME_EXCHANGE (flags 0: a
    plain rename).  RENAME_WHITEOUT is refused with EINVAL (no overlay
    filesystems)."""
    flags &= 0xFFFFFFFF
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT):
        return -EINVAL
    if flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) and flags & RENAME_EXCHANGE:
        return -EINVAL
    p = t.process
    vfs = _vfs(t)
    old = path_arg(t, oldpath)
    new = path_arg(t, newpath)
    oldcwd = _dir_of(t, olddirfd, old)
    newcwd = _dir_of(t, newdirfd, new)
    if flags & RENAME_WHITEOUT:
        return -EINVAL
    cred = fscred(t)
    if not flags:
        vfs.rename(old, new, cwd=oldcwd, newcwd=newcwd, root=p.root, cred=cred)
        return 0
    for name in (old, new):
        if name.rstrip(b"/").rpartition(b"/")[2] in (b".", b"..", b""):
            raise KernelError(EBUSY)
    src = vfs.resolve(old, cwd=oldcwd, root=p.root, follow=False, cred=cred)
    try:
        dst = vfs.resolve(new, cwd=newcwd, root=p.root, follow=False, cred=cred)
    except KernelError as e:
        if e.errno != ENOENT:
            raise
        dst = None
    if flags & RENAME_NOREPLACE:
        if dst is not None:
            raise KernelError(EEXIST)
        vfs.rename(old, new, cwd=oldcwd, newcwd=newcwd, root=p.root, cred=cred)
        return 0
    # RENAME_EXCHANGE: both must exist; swap them atomically (one kernel
    # thread: no guest runs between the three renames below).
    if dst is None:
        # Linux looks the new name up (ENOENT) after the parent walk.
        vfs.resolve(_dirname(new), cwd=newcwd, root=p.root)
        raise KernelError(ENOENT)
    if src.mnt is not dst.mnt:
        raise KernelError(EXDEV)
    if src.mnt.readonly:
        raise KernelError(EROFS)
    if src.inode.key == dst.inode.key:
        return 0
    sp, dp = _canon(src), _canon(dst)
    if dp.startswith(sp + b"/"):
        raise KernelError(EINVAL)        # the source is an ancestor of the target
    if sp.startswith(dp + b"/"):
        raise KernelError(EINVAL)        # the target is an ancestor (EINVAL too for EXCHANGE)
    for loc in (src, dst):
        if loc.inode.key == loc.mnt.root.key:
            raise KernelError(EBUSY)     # a mount point
    if cred is not None:
        _may_exchange(vfs, p, old, oldcwd, src, new, newcwd, dst, cred)
    odir = _dirname(sp)
    n = 0
    while True:
        tmp = (odir.rstrip(b"/") + b"/" if odir != b"/" else b"/") + b".akuma-xchg-%d" % n
        try:
            vfs.resolve(tmp, cwd=b"/", root=p.root, follow=False)
        except KernelError as e:
            if e.errno == ENOENT:
                break
            raise
        n += 1
    vfs.rename(sp, tmp, cwd=b"/", root=p.root)
    try:
        vfs.rename(dp, sp, cwd=b"/", root=p.root)
    except KernelError:
        vfs.rename(tmp, sp, cwd=b"/", root=p.root)
        raise
    try:
        vfs.rename(tmp, dp, cwd=b"/", root=p.root)
    except KernelError:
        vfs.rename(sp, dp, cwd=b"/", root=p.root)
        vfs.rename(tmp, sp, cwd=b"/", root=p.root)
        raise
    return 0


def _may_exchange(vfs, p, old, oldcwd, src, new, newcwd, dst, cred):
    """Linux's checks for RENAME_EXCHANGE by a non-root caller: each name is
    removed from and made in its directory (write+search, then the sticky
    bit), and a directory that changes parent needs write on itself (its
    ".." entry changes)."""
    from akuma.vfs import perm
    odir = vfs.resolve(_dirname(old), cwd=oldcwd, root=p.root, cred=cred)
    ndir = vfs.resolve(_dirname(new), cwd=newcwd, root=p.root, cred=cred)
    for d, victim in ((odir, src), (ndir, dst)):
        perm.check(d.inode, cred, perm.W_OK | perm.X_OK)
        if perm.sticky_denies(d.inode, victim.inode, cred):
            raise KernelError(EPERM)
    if odir.inode.key != ndir.inode.key:
        for loc in (src, dst):
            if loc.inode.is_dir:
                perm.check(loc.inode, cred, perm.W_OK)


def _dirname(path):
    stripped = path.rstrip(b"/")
    if b"/" not in stripped:
        return b"."
    return stripped.rpartition(b"/")[0] or b"/"


def _canon(loc):
    path = loc.path
    return path if path.startswith(b"/") else b"/" + path


# -- chroot / sync -----------------------------------------------------------------------------------

@syscall("chroot", "path")
def sys_chroot(t, pathname, *_):
    p = t.process
    path = path_arg(t, pathname)
    loc = _resolve(t, path, p.cwd)
    if not loc.inode.is_dir:
        return -ENOTDIR
    if not _root(t):
        _permission(t, loc.inode.stat(), X_OK)
        return -EPERM
    rel = _canon(loc)
    old = p.root if isinstance(p.root, bytes) else b"/"
    if old in (b"", b"/"):
        p.root = rel
    else:
        p.root = old.rstrip(b"/") + (rel if rel != b"/" else b"")
    return 0


def sync_all(t):
    """sync(2): flush every mounted filesystem; errors are not reported."""
    try:
        _vfs(t).sync_all()
    except (KernelError, OSError):
        pass
    return 0


@syscall("syncfs", "fd")
def sys_syncfs(t, fd, *_):
    f = t.process.fds.get(s32(fd))
    if getattr(f, "opath", False):
        return -EBADF
    fs = getattr(getattr(f, "inode", None), "fs", None)
    if fs is not None and hasattr(fs, "sync"):
        fs.sync()
    return 0


__all__ = ["record_lock", "renameat2_flags", "sync_all", "pack_statx", "statfs_of",
           "RECORD_LOCK_CMDS", "sys_fchmodat2"]
