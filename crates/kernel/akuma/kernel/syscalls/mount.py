"""mount(2) and umount2(2) with Linux's argument checks and errno order:
new mounts of tmpfs (size=, mode=, uid=, gid=), proc, devtmpfs, sysfs and
ext2 (from an image file, with -o loop semantics, or a bound loop device:
akuma.kernel.loopdev), bind
mounts (MS_BIND, MS_REC), remounts (MS_REMOUNT, with MS_BIND for the
per-mount flags only), propagation changes (recorded as private: there is
one mount namespace and no peers), MS_MOVE; umount2 with MNT_FORCE,
MNT_DETACH, MNT_EXPIRE and UMOUNT_NOFOLLOW."""
from akuma.abi import KernelError
from akuma.abi import stat as S
from akuma.abi.errors import EACCES, EAGAIN, EBUSY, EINVAL, ELOOP, ENODEV, ENOTBLK, EPERM
from akuma.kernel import loopdev     # registers /dev/loop-control and /dev/loopN
from akuma.kernel.syscalls.args import path_arg, s32
from akuma.kernel.syscalls.registry import syscall

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC = 32, 4096, 8192, 16384
MS_NOATIME, MS_NODIRATIME, MS_SILENT = 1024, 2048, 32768
MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED = 1 << 17, 1 << 18, 1 << 19, 1 << 20
MS_RELATIME, MS_STRICTATIME, MS_LAZYTIME = 1 << 21, 1 << 24, 1 << 25
MS_NOUSER = 1 << 31
MS_MGC_VAL, MS_MGC_MSK = 0xC0ED0000, 0xFFFF0000
_PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE
_PER_MOUNT = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME

MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW = 1, 2, 4, 8
DATA_MAX = 4096      # mount(2) copies one page of options


# -- where things are ------------------------------------------------------------------

def _vfs(t):
    return t.kernel.vfs


def _rootloc(t):
    return _vfs(t)._rootloc(t.process.root)


def _global(t, loc):
    """The global path of a Loc resolved under the process root."""
    root = t.process.root
    prefix = root.rstrip(b"/") if isinstance(root, bytes) else b""
    return (prefix + loc.path) if loc.path != b"/" else (prefix or b"/")


def _resolve(t, path, follow=True):
    p = t.process
    return _vfs(t).resolve(path, cwd=p.cwd, root=p.root, follow=follow)


def _held_mounts(t):
    """Mounts something holds: open files, working directories and roots of
    every live process (Linux's mount reference counts)."""
    vfs = _vfs(t)
    held, writers = set(), set()
    for p in list(t.kernel.processes.values()):
        if not getattr(p, "alive", True):
            continue
        for _fd, f in p.fds.items():
            loc = getattr(f, "loc", None)
            if loc is not None:
                held.add(loc.mnt)
                if getattr(f, "writable", False):
                    writers.add(loc.mnt)
        for path in (p.cwd, p.root):
            if isinstance(path, bytes):
                try:
                    held.add(vfs.resolve(path, cwd=b"/", root=b"/").mnt)
                except KernelError:
                    pass
    return held, writers


# -- options ---------------------------------------------------------------------------

def _options(t, data):
    if not data:
        return []
    raw = t.process.aspace.read_cstr(data, DATA_MAX - 1) or b""
    return [o for o in raw.split(b",") if o]


def _size(v, total):
    """tmpfs size=: bytes with k/m/g/t suffixes, or a percentage of RAM."""
    if v.endswith(b"%"):
        return int(v[:-1]) * total // 100
    mult = {b"k": 1 << 10, b"m": 1 << 20, b"g": 1 << 30, b"t": 1 << 40}.get(v[-1:].lower(), 1)
    return int(v[:-1] if mult != 1 else v) * mult


def _tmpfs(t, opts):
    from akuma.vfs import MemFs
    total = t.kernel.frames.total * 4096
    limit, mode, uid, gid = total // 2, 0o1777, 0, 0
    try:
        for o in opts:
            key, _, val = o.partition(b"=")
            if key == b"size":
                limit = _size(val, total) or (1 << 62)      # 0: unlimited
            elif key == b"mode":
                mode = int(val, 8) & 0o7777
            elif key == b"uid":
                uid = int(val)
            elif key == b"gid":
                gid = int(val)
            elif key in (b"nr_inodes", b"nr_blocks", b"huge", b"mpol", b"inode64",
                         b"inode32", b"noswap"):
                continue
            elif key in (b"rw", b"ro", b"defaults"):
                continue
            else:
                raise KernelError(EINVAL)
    except ValueError:
        raise KernelError(EINVAL) from None
    return MemFs(limit=limit, mode=mode, uid=uid, gid=gid)


def _ext2(t, source, readonly):
    """ext2 from a block-device node (a bound loop device, or one in
    ``vfs.blockdevs``) or, as with -o loop, an image file."""
    from akuma.vfs.ext2 import Ext2Fs
    if not source:
        raise KernelError(EINVAL)
    loc = _resolve(t, source)
    inode = loc.inode
    hostpath = getattr(inode, "hostpath", None)
    if inode.is_dir or not (inode.is_reg or inode.kind == S.S_IFBLK):
        raise KernelError(ENOTBLK)
    if inode.kind == S.S_IFBLK:
        if loc.mnt.flags & MS_NODEV:
            raise KernelError(EACCES)
        blockdevs = getattr(_vfs(t), "blockdevs", None) or {}
        hostpath = blockdevs.get(inode.rdev)
        if hostpath is None:
            dev = loopdev.mount_source(t, inode, readonly)
            fs = Ext2Fs(dev.hostpath, readonly=readonly or dev.readonly)
            return loopdev.hold(dev, fs)
        return Ext2Fs(hostpath, readonly=readonly)
    if not isinstance(hostpath, bytes):
        # An image stored inside another guest filesystem has no host file to
        # do block I/O on.
        raise KernelError(ENOTBLK)
    return Ext2Fs(hostpath, readonly=readonly or loc.mnt.readonly)


def _new_fs(t, fstype, source, opts, readonly):
    k = t.kernel
    if fstype == b"tmpfs":
        return _tmpfs(t, opts)
    if fstype == b"proc":
        from akuma.kernel import procdata
        from akuma.vfs import ProcFs
        fs = ProcFs(lambda: k.current_exe())
        procdata.install(k, fs)
        return fs
    if fstype in (b"devtmpfs", b"devfs"):
        from akuma.vfs import make_devfs
        return make_devfs()
    if fstype == b"sysfs":
        from akuma.vfs.sysfs import SysFs
        return SysFs()
    if fstype == b"ext2":
        return _ext2(t, source, readonly)
    raise KernelError(ENODEV)


# -- mount(2) ---------------------------------------------------------------------------

@syscall("mount", "path path path hex hex",
         note="partial: tmpfs, proc, devtmpfs, sysfs, ext2 (image files, loop devices), bind, remount")
def sys_mount(t, source, target, fstype, flags, data, *_):
    flags &= 0xFFFFFFFF
    if flags & MS_MGC_MSK == MS_MGC_VAL:
        flags &= ~MS_MGC_MSK
    kind = path_arg(t, fstype) if fstype else None
    src = path_arg(t, source) if source else None
    path = path_arg(t, target)
    opts = _options(t, data)
    loc = _resolve(t, path)
    if flags & MS_NOUSER:
        return -EINVAL
    if t.process.creds.euid != 0:
        return -EPERM
    vfs = _vfs(t)
    per_mount = flags & _PER_MOUNT
    readonly = bool(flags & MS_RDONLY)
    if flags & MS_REMOUNT:
        m = vfs.mount_root_of(loc)
        _, writers = _held_mounts(t)
        vfs.remount(m, readonly, per_mount, bind_only=bool(flags & MS_BIND), writers=writers)
        return 0
    if flags & MS_BIND:
        if not src:
            return -EINVAL
        s = _resolve(t, src)
        vfs.bind(s, loc, _rootloc(t), _global(t, loc), _global(t, s),
                 recursive=bool(flags & MS_REC))
        return 0
    if flags & _PROPAGATION:
        vfs.mount_root_of(loc)
        kinds = flags & _PROPAGATION
        if kinds & (kinds - 1):
            return -EINVAL            # exactly one propagation type
        return 0
    if flags & MS_MOVE:
        return _move(t, src, loc)
    if kind is None:
        return -EINVAL
    fs = _new_fs(t, kind, src, opts, readonly)
    try:
        vfs.attach_at(loc, _rootloc(t), fs, _global(t, loc), readonly=readonly,
                      flags=per_mount, source=src if src else b"none")
    except KernelError:
        fs.unmount()
        raise
    return 0


def _move(t, src, loc):
    """MS_MOVE: re-attach a whole mount at another place."""
    vfs = _vfs(t)
    if not src:
        return -EINVAL
    s = _resolve(t, src)
    m = vfs.mount_root_of(s)
    if m.parent is None:
        return -EINVAL
    dst = _global(t, loc)
    if (dst + b"/").startswith(m.path.rstrip(b"/") + b"/"):
        return -ELOOP                 # beneath itself
    moved = vfs.bind(s, loc, _rootloc(t), dst, m.path, recursive=True)
    moved.source, moved.flags, moved.readonly = m.source, m.flags, m.readonly
    vfs.umount_mount(m, detach=True, busy={m})     # its fs stays: the copy holds it
    return 0


# -- umount2(2) -------------------------------------------------------------------------

@syscall("umount2", "path hex")
def sys_umount2(t, target, flags, *_):
    flags = s32(flags)
    if flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW):
        return -EINVAL
    path = path_arg(t, target)
    loc = _resolve(t, path, follow=not flags & UMOUNT_NOFOLLOW)
    if t.process.creds.euid != 0:
        return -EPERM
    vfs = _vfs(t)
    m = vfs.mount_root_of(loc)
    if m.parent is None:
        return -EINVAL if flags & MNT_EXPIRE else -EBUSY
    held, _ = _held_mounts(t)
    if flags & MNT_EXPIRE:
        if flags & (MNT_FORCE | MNT_DETACH):
            return -EINVAL
        if m in held:
            return -EBUSY
        if not m.expiry_mark:
            m.expiry_mark = True
            return -EAGAIN
    vfs.umount_mount(m, detach=bool(flags & MNT_DETACH), busy=held)
    from akuma.kernel.filemaps import forget_fs
    forget_fs(t.kernel, m.fs)
    return 0


__all__ = ["sys_mount", "sys_umount2"]
