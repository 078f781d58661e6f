"""Loop devices: /dev/loop-control (LOOP_CTL_GET_FREE, LOOP_CTL_ADD,
LOOP_CTL_REMOVE) and the /dev/loopN block devices (LOOP_SET_FD,
LOOP_CONFIGURE, LOOP_CLR_FD, LOOP_SET_STATUS64/LOOP_GET_STATUS64 and the
old 32-bit status calls, BLKGETSIZE64, BLKSSZGET), with Linux's errnos:
ENXIO on an unbound device, EBUSY on a bound one.

A bound device reads and writes its file; mount(2) of /dev/loopN as ext2
(syscalls/mount.py, ``mount_source``) runs the ext2 block layer on the
bound file, which must be a host file (hostfs, ``-v``): an image stored
inside another guest filesystem can be bound and read, not mounted
(ENOTBLK).  A mount holds the device like an open does; LO_FLAGS_AUTOCLEAR
(set by busybox's mount, or by LOOP_CLR_FD while in use) unbinds it when
the last holder goes away, so umount frees it as on Linux.

The device table is one per Python process, as the driver registry of
devfs is (``akuma.vfs.devfs``)."""
import os
import struct

from akuma.abi import KernelError, makedev
from akuma.abi import stat as S
from akuma.abi.errors import (EACCES, EBADF, EBUSY, EEXIST, EINVAL, EIO, ENODEV, ENOSYS,
                              ENOTBLK, ENXIO, EOVERFLOW, EPERM)
from akuma.vfs.devfs import LOOP_CONTROL_RDEV, LOOP_DEVICES, LOOP_MAJOR, CharDevFile
from akuma.vfs.devfs import register_blkdev, register_chrdev
from akuma.vfs.openfile import OpenFile

LOOP_SET_FD, LOOP_CLR_FD, LOOP_SET_STATUS, LOOP_GET_STATUS = 0x4C00, 0x4C01, 0x4C02, 0x4C03
LOOP_SET_STATUS64, LOOP_GET_STATUS64, LOOP_CHANGE_FD = 0x4C04, 0x4C05, 0x4C06
LOOP_SET_CAPACITY, LOOP_SET_DIRECT_IO, LOOP_SET_BLOCK_SIZE = 0x4C07, 0x4C08, 0x4C09
LOOP_CONFIGURE = 0x4C0A
LOOP_CTL_ADD, LOOP_CTL_REMOVE, LOOP_CTL_GET_FREE = 0x4C80, 0x4C81, 0x4C82
BLKGETSIZE, BLKSSZGET, BLKGETSIZE64 = 0x1260, 0x1268, 0x80081272
LO_FLAGS_READ_ONLY, LO_FLAGS_AUTOCLEAR, LO_FLAGS_PARTSCAN = 1, 4, 8
LO_FLAGS_DIRECT_IO = 16
_SETTABLE = LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN
LO_NAME_SIZE = 64
MINOR_MAX = 1 << 20

# struct loop_info64: device, inode, rdevice, offset, sizelimit, number,
# encrypt_type, encrypt_key_size, flags, file_name, crypt_name, key, init[2]
_INFO64 = struct.Struct("<QQQQQIIII64s64s32sQQ")
# struct loop_info (arm64 longs): number, device(u32 dev_t), inode, rdevice,
# offset(int), encrypt_type, encrypt_key_size, flags, name, key, init, reserved
_INFO = struct.Struct("<iI4xQIiiii64s32s16s4s4x")
# struct loop_config: fd, block_size, info, reserved[8]
_CONFIG = struct.Struct("<II")
_CONFIG_SIZE = _CONFIG.size + _INFO64.size + 64


class LoopDevice:
    def __init__(self, number):
        self.number = number
        self.rdev = makedev(LOOP_MAJOR, number)
        self.opens = 0
        self.mounts = 0
        self._unbind()

    def _unbind(self):
        self.bound = False
        self.hostpath = None      # bytes: the host file, if the file is on hostfs
        self.hostfd = None
        self.inode = None         # the bound file's inode (files not on the host)
        self.file_dev = self.file_ino = 0
        self.offset = self.sizelimit = 0
        self.flags = 0
        self.file_name = b""
        self.block_size = 512

    @property
    def readonly(self):
        return bool(self.flags & LO_FLAGS_READ_ONLY)

    def bind(self, f, flags=0, block_size=0):
        if self.bound:
            raise KernelError(EBUSY)
        inode = getattr(f, "inode", None)
        if inode is None or not (inode.is_reg or inode.kind == S.S_IFBLK):
            raise KernelError(EINVAL)
        readonly = bool(flags & LO_FLAGS_READ_ONLY) or not f.writable
        hostpath = getattr(inode, "hostpath", None)
        hostfd = None
        if isinstance(hostpath, bytes):
            try:
                hostfd = os.open(hostpath, (os.O_RDONLY if readonly else os.O_RDWR) | os.O_CLOEXEC)
            except OSError as e:
                raise KernelError(e.errno or EIO) from None
        else:
            hostpath = None
        self.bound = True
        self.hostpath, self.hostfd, self.inode = hostpath, hostfd, inode
        st_ = inode.stat()
        self.file_dev, self.file_ino = st_.dev, st_.ino
        self.flags = (flags & (_SETTABLE | LO_FLAGS_DIRECT_IO)) | \
            (LO_FLAGS_READ_ONLY if readonly else 0)
        self.block_size = block_size or 512
        self.file_name = (getattr(f, "path", b"") or b"")[:LO_NAME_SIZE - 1]

    def clear(self):
        if self.hostfd is not None:
            try:
                os.close(self.hostfd)
            except OSError:
                pass
        self._unbind()

    def maybe_autoclear(self):
        if self.bound and self.flags & LO_FLAGS_AUTOCLEAR and not self.opens and not self.mounts:
            self.clear()

    def size(self):
        if not self.bound:
            return 0
        if self.hostfd is not None:
            total = os.fstat(self.hostfd).st_size
        else:
            total = self.inode.size
        n = max(0, total - self.offset)
        return min(n, self.sizelimit) if self.sizelimit else n

    def read_at(self, n, off):
        n = max(0, min(n, self.size() - off))
        if not n:
            return b""
        if self.hostfd is not None:
            return os.pread(self.hostfd, n, self.offset + off)
        return self.inode.read_at(n, self.offset + off)

    def write_at(self, data, off):
        if self.readonly:
            raise KernelError(EPERM)
        data = bytes(data)[:max(0, self.size() - off)]
        if not data:
            return 0
        if self.hostfd is not None:
            return os.pwrite(self.hostfd, data, self.offset + off)
        return self.inode.write_at(data, self.offset + off)

    def info64(self):
        return _INFO64.pack(self.file_dev, self.file_ino, 0, self.offset, self.sizelimit,
                            self.number, 0, 0, self.flags, self.file_name, b"", b"", 0, 0)


class LoopTable:
    def __init__(self):
        self.devices = {n: LoopDevice(n) for n in range(LOOP_DEVICES)}

    def get(self, number):
        return self.devices.get(number)

    def add(self, number, kernel):
        if number < 0:
            number = next(i for i in range(MINOR_MAX) if i not in self.devices)
        if number >= MINOR_MAX:
            raise KernelError(EINVAL)
        if number in self.devices:
            raise KernelError(EEXIST)
        self.devices[number] = LoopDevice(number)
        _each_devfs(kernel, lambda fs: fs.add_device(b"loop%d" % number,
                                                    makedev(LOOP_MAJOR, number),
                                                    mode=0o660, kind=S.S_IFBLK))
        return number

    def remove(self, number, kernel):
        dev = self.devices.get(number)
        if dev is None:
            raise KernelError(ENODEV)
        if dev.bound or dev.opens or dev.mounts:
            raise KernelError(EBUSY)
        del self.devices[number]
        _each_devfs(kernel, lambda fs: fs.root.unlink(b"loop%d" % number))

    def get_free(self, kernel):
        for n in sorted(self.devices):
            d = self.devices[n]
            if not d.bound and not d.mounts:
                return n
        return self.add(-1, kernel)


TABLE = LoopTable()


def _each_devfs(kernel, fn):
    vfs = getattr(kernel, "vfs", None)
    for m in getattr(vfs, "mounts", lambda: [])():
        if getattr(m.fs, "fstype", None) == b"devtmpfs" and hasattr(m.fs, "add_device"):
            try:
                fn(m.fs)
            except KernelError:
                pass


def _user_fd(t, fd):
    fd &= 0xFFFFFFFF
    f = t.process.fds.get(fd - (1 << 32) if fd >= 1 << 31 else fd)
    if f is None or getattr(f, "opath", False):
        raise KernelError(EBADF)
    return f


def _read(t, addr, n):
    from akuma.kernel.syscalls.args import read_user
    return read_user(t, addr, n)


def _write(t, addr, data):
    from akuma.kernel.syscalls.args import write_user
    write_user(t, addr, data)


def _minor(rdev):
    return (rdev & 0xFF) | ((rdev >> 12) & ~0xFF & 0xFFFFFFFF)


class LoopControlFile(CharDevFile):
    def dev_ioctl(self, t, req, arg):
        if req == LOOP_CTL_GET_FREE:
            return TABLE.get_free(t.kernel)
        if req == LOOP_CTL_ADD:
            n = arg & 0xFFFFFFFF
            return TABLE.add(n - (1 << 32) if n >= 1 << 31 else n, t.kernel)
        if req == LOOP_CTL_REMOVE:
            n = arg & 0xFFFFFFFF
            if n >= 1 << 31:
                raise KernelError(EINVAL)
            TABLE.remove(n, t.kernel)
            return 0
        return -ENOSYS


class LoopFile(OpenFile):
    """An open /dev/loopN."""

    def __init__(self, inode, flags, path=b"", loc=None):
        super().__init__(inode, flags, path, loc)
        self.dev = TABLE.get(_minor(inode.rdev))
        if self.dev is None:
            raise KernelError(ENXIO)
        self.dev.opens += 1
        self._open = True

    def _size(self):
        return self.dev.size()

    def _read_at(self, n, off):
        return self.dev.read_at(n, off)

    def _write_at(self, data, off):
        return self.dev.write_at(data, off)

    def stat(self):
        return self.inode.stat()

    def close(self):
        if self._open:
            self._open = False
            self.dev.opens -= 1
            self.dev.maybe_autoclear()
        super().close()

    def dev_ioctl(self, t, req, arg):
        dev = self.dev
        if req in (LOOP_SET_FD, LOOP_CONFIGURE, LOOP_CHANGE_FD):
            if req == LOOP_SET_FD:
                dev.bind(_user_fd(t, arg & 0xFFFFFFFF))
                return 0
            if req == LOOP_CHANGE_FD:
                if not dev.bound:
                    raise KernelError(ENXIO)
                raise KernelError(EINVAL)       # only for read-only devices on Linux
            raw = _read(t, arg, _CONFIG_SIZE)
            fd, block_size = _CONFIG.unpack_from(raw)
            info = _INFO64.unpack_from(raw, _CONFIG.size)
            if block_size and (block_size & (block_size - 1) or not 512 <= block_size <= 4096):
                raise KernelError(EINVAL)
            if dev.bound:
                raise KernelError(EBUSY)
            dev.bind(_user_fd(t, fd), info[8], block_size)
            self._set_status(info)
            return 0
        if req == LOOP_CLR_FD:
            if not dev.bound:
                raise KernelError(ENXIO)
            if dev.opens > 1 or dev.mounts:
                dev.flags |= LO_FLAGS_AUTOCLEAR       # cleared when the last holder goes
            else:
                dev.clear()
            return 0
        if req in (LOOP_GET_STATUS64, LOOP_GET_STATUS):
            if not dev.bound:
                raise KernelError(ENXIO)
            if req == LOOP_GET_STATUS64:
                _write(t, arg, dev.info64())
            else:
                if dev.offset >= 1 << 31 or dev.file_ino >= 1 << 64:
                    raise KernelError(EOVERFLOW)
                _write(t, arg, _INFO.pack(dev.number, dev.file_dev & 0xFFFFFFFF, dev.file_ino,
                                          0, dev.offset, 0, 0, dev.flags, dev.file_name,
                                          b"", b"", b""))
            return 0
        if req in (LOOP_SET_STATUS64, LOOP_SET_STATUS):
            if not self.writable and t.process.creds.euid != 0:
                raise KernelError(EPERM)      # a writer or CAP_SYS_ADMIN
            if not dev.bound:
                raise KernelError(ENXIO)
            if req == LOOP_SET_STATUS64:
                info = _INFO64.unpack(_read(t, arg, _INFO64.size))
            else:
                i = _INFO.unpack(_read(t, arg, _INFO.size))
                info = (0, 0, 0, i[4], 0, i[0], i[5], i[6], i[7], i[8], b"", i[9], 0, 0)
            self._set_status(info)
            return 0
        if req == LOOP_SET_CAPACITY or req == LOOP_SET_DIRECT_IO:
            if not dev.bound:
                raise KernelError(ENXIO)
            return 0
        if req == LOOP_SET_BLOCK_SIZE:
            if not dev.bound:
                raise KernelError(ENXIO)
            if arg & (arg - 1) or not 512 <= arg <= 4096:
                raise KernelError(EINVAL)
            dev.block_size = arg
            return 0
        if req == BLKGETSIZE64:
            _write(t, arg, struct.pack("<Q", dev.size()))
            return 0
        if req == BLKGETSIZE:
            _write(t, arg, struct.pack("<Q", dev.size() >> 9))
            return 0
        if req == BLKSSZGET:
            _write(t, arg, struct.pack("<i", dev.block_size))
            return 0
        return -EINVAL                       # lo_simple_ioctl's answer

    def _set_status(self, info):
        dev = self.dev
        _d, _i, _r, offset, sizelimit, _n, enc, _ks, flags, name, _c, _k, _a, _b = info
        if enc:
            raise KernelError(EINVAL)          # no cryptoloop
        if dev.mounts and (offset != dev.offset or sizelimit != dev.sizelimit):
            raise KernelError(EBUSY)
        dev.offset, dev.sizelimit = offset, sizelimit
        dev.flags = (dev.flags & ~_SETTABLE) | (flags & _SETTABLE)
        dev.file_name = name.split(b"\0", 1)[0][:LO_NAME_SIZE - 1]




def mount_source(t, inode, readonly):
    """For mount(2) of a loop device node: (host path, readonly, device)."""
    if inode.kind != S.S_IFBLK or (inode.rdev >> 8) & 0xFFF != LOOP_MAJOR:
        raise KernelError(ENXIO)
    dev = TABLE.get(_minor(inode.rdev))
    if dev is None:
        raise KernelError(ENXIO)
    if not dev.bound:
        raise KernelError(EINVAL)             # no superblock to read
    if dev.hostpath is None or dev.offset or dev.sizelimit:
        raise KernelError(ENOTBLK)            # the ext2 block layer needs the host file
    if dev.mounts:
        raise KernelError(EBUSY)
    if dev.readonly and not readonly:
        raise KernelError(EACCES)             # mount(8) retries read-only
    return dev


def hold(dev, fs):
    """Tie a mounted filesystem to its loop device: the device stays bound
    while it is mounted, and an autoclear device is freed at unmount."""
    dev.mounts += 1
    unmount = fs.unmount

    def released(*a, **kw):
        try:
            return unmount(*a, **kw)
        finally:
            if fs.__dict__.pop("unmount", None) is not None:
                fs.__dict__.pop("close", None)
                dev.mounts -= 1
                dev.maybe_autoclear()
    fs.unmount = fs.close = released
    return fs


def _open_loop(inode, flags):
    return LoopFile(inode, flags)


register_chrdev(LOOP_CONTROL_RDEV, LoopControlFile)
register_blkdev(LOOP_MAJOR, _open_loop)

__all__ = ["TABLE", "LoopDevice", "LoopFile", "LoopControlFile", "mount_source", "hold"]
