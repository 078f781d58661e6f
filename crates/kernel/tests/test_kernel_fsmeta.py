"""fsmeta/fslocks pieces without a guest: lock-range arithmetic, the lock
table's split/merge, struct layouts, and argument validation order."""
import io
import struct

import pytest

from akuma.abi import KernelError, makedev
from akuma.abi import fcntl as F
from akuma.abi.errors import EAGAIN, EBADF, EINVAL, EOVERFLOW, EOPNOTSUPP, ESPIPE
from akuma.abi.stat import Stat
from akuma.kernel import Kernel, Process, Task
from akuma.kernel.syscalls import fslocks as L
from akuma.kernel.syscalls import fsmeta as M
from akuma.kernel.syscalls.registry import HANDLERS
from akuma.vfs import MemFs, Vfs


@pytest.fixture
def kernel():
    vfs = Vfs()
    vfs.mount(b"/tmp", MemFs())
    return Kernel(vfs, mem=16 << 20, log=io.StringIO())


def _task(kernel, pid=1):
    p = Process(pid, kernel.new_address_space())
    t = Task(pid, p, kernel.cpu.new_context())
    t.kernel = kernel
    return t


def _open(kernel, t, path=b"/tmp/f", flags=F.O_RDWR | F.O_CREAT):
    f = kernel.vfs.open(path, flags, 0o644)
    return t.process.fds.install(f), f


def test_handlers_registered_once():
    for name in ("linkat", "mknodat", "fchmod", "fchmodat", "fchownat", "fchown", "utimensat",
                 "truncate", "fallocate", "statx", "statfs", "fstatfs", "close_range",
                 "preadv", "pwritev", "preadv2", "pwritev2", "copy_file_range", "flock",
                 "chroot", "syncfs"):
        assert HANDLERS[name].__module__ == "akuma.kernel.syscalls.fsmeta", name
    # fs.py keeps these
    for name in ("fcntl", "renameat2", "sync"):
        assert HANDLERS[name].__module__ == "akuma.kernel.syscalls.fs", name


class _F:
    seekable = True
    pos = 100

    def stat(self):
        return Stat(mode=0o100644, size=40)


@pytest.mark.parametrize("whence,start,length,want", [
    (F.SEEK_SET, 0, 0, (0, L.OFFSET_MAX)),
    (F.SEEK_SET, 5, 10, (5, 14)),
    (F.SEEK_SET, 30, -5, (25, 29)),
    (F.SEEK_CUR, -10, 1, (90, 90)),
    (F.SEEK_END, 2, 3, (42, 44)),
])
def test_lock_ranges(whence, start, length, want):
    assert L._range(_F(), whence, start, length) == want


@pytest.mark.parametrize("whence,start,length,err", [
    (9, 0, 1, EINVAL),
    (F.SEEK_SET, -1, 1, EINVAL),
    (F.SEEK_SET, 2, -5, EINVAL),
    (F.SEEK_SET, L.OFFSET_MAX, 2, EOVERFLOW),
    (F.SEEK_CUR, L.OFFSET_MAX, 0, EOVERFLOW),
])
def test_lock_range_errors(whence, start, length, err):
    with pytest.raises(KernelError) as e:
        L._range(_F(), whence, start, length)
    assert e.value.errno == err


def test_lock_table_split_merge_and_conflict():
    tab = L.LockTable()
    a, b = object(), object()
    tab.apply("k", a, 0, 9, L.F_WRLCK, 1, False)
    tab.apply("k", a, 3, 5, L.F_UNLCK, 1, False)
    assert [(x.start, x.end, x.type) for x in tab.records["k"]] == [(0, 2, 1), (6, 9, 1)]
    tab.apply("k", a, 3, 5, L.F_WRLCK, 1, False)            # coalesces back
    assert [(x.start, x.end) for x in tab.records["k"]] == [(0, 9)]
    tab.apply("k", a, 4, 4, L.F_RDLCK, 1, False)            # a read hole in the middle
    assert [(x.start, x.end, x.type) for x in tab.records["k"]] == \
        [(0, 3, 1), (4, 4, 0), (5, 9, 1)]
    assert tab.conflict("k", a, 0, 100, L.F_WRLCK) is None   # own locks never conflict
    assert tab.conflict("k", b, 4, 4, L.F_RDLCK) is None     # readers share
    assert tab.conflict("k", b, 4, 4, L.F_WRLCK).type == L.F_RDLCK
    assert tab.conflict("k", b, 10, 20, L.F_WRLCK) is None
    tab.apply("k", a, 0, L.OFFSET_MAX, L.F_UNLCK, 1, False)
    assert "k" not in tab.records


def test_flock_validation_order(kernel):
    t = _task(kernel)
    with pytest.raises(KernelError) as e:
        L.do_flock(t, 99, 0)            # EINVAL before EBADF, like Linux
    assert e.value.errno == EINVAL
    with pytest.raises(KernelError) as e:
        L.do_flock(t, 99, L.LOCK_SH)
    assert e.value.errno == EBADF
    assert L.do_flock(t, 99, L.LOCK_MAND) == 0


def test_flock_conflict_between_descriptions(kernel):
    t = _task(kernel)
    fd1, f1 = _open(kernel, t)
    fd2, f2 = _open(kernel, t)
    assert L.do_flock(t, fd1, L.LOCK_EX) == 0
    with pytest.raises(KernelError) as e:
        L.do_flock(t, fd2, L.LOCK_SH | L.LOCK_NB)
    assert e.value.errno == EAGAIN
    t.process.fds.close(fd1)          # the description closes: its lock goes
    assert L.do_flock(t, fd2, L.LOCK_EX | L.LOCK_NB) == 0


def test_fallocate_checks(kernel):
    t = _task(kernel)
    fd, f = _open(kernel, t)
    h = HANDLERS["fallocate"]
    assert h(t, fd, 0, 0, 0) == -EINVAL
    assert h(t, fd, 0x100, 0, 1) == -EOPNOTSUPP
    assert h(t, fd, M.FALLOC_FL_PUNCH_HOLE, 0, 1) == -EOPNOTSUPP
    assert h(t, fd, M.FALLOC_FL_COLLAPSE_RANGE | M.FALLOC_FL_KEEP_SIZE, 0, 1) == -EOPNOTSUPP
    assert h(t, fd, 0, 10, 90) == 0
    assert f.stat().size == 100
    assert h(t, fd, M.FALLOC_FL_KEEP_SIZE, 0, 4096) == 0
    assert f.stat().size == 100
    f.pwrite(b"abcdef", 0)
    assert h(t, fd, M.FALLOC_FL_PUNCH_HOLE | M.FALLOC_FL_KEEP_SIZE, 1, 2) == 0
    assert f.pread(6, 0) == b"a\0\0def"
    rfd, _ = _open(kernel, t, flags=F.O_RDONLY)
    assert h(t, rfd, 0, 0, 1) == -EBADF


def test_close_range(kernel):
    t = _task(kernel)
    fds = [_open(kernel, t)[0] for _ in range(4)]
    h = HANDLERS["close_range"]
    assert h(t, fds[0], fds[0], 1) == -EINVAL
    assert h(t, 5, 4, 0) == -EINVAL
    assert h(t, fds[1], fds[2], M.CLOSE_RANGE_CLOEXEC) == 0
    assert t.process.fds.is_cloexec(fds[1]) and t.process.fds.is_cloexec(fds[2])
    assert h(t, fds[1], 0xFFFFFFFF, 0) == 0
    assert fds[0] in t.process.fds and fds[1] not in t.process.fds


def test_statx_layout():
    st = Stat(mode=0o100644, size=11, ino=7, dev=makedev(8, 1), nlink=2, uid=3, gid=4,
              rdev=makedev(259, 300), blocks=8, atime_ns=1_500_000_000_123,
              mtime_ns=2_000_000_000_000_000_456, ctime_ns=5)
    raw = M.pack_statx(st, M.STATX_ATTR_MOUNT_ROOT, mnt_id=22)
    assert len(raw) == 256
    mask, blksize, attrs, nlink, uid, gid, mode = struct.unpack_from("<IIQIIIH", raw, 0)
    assert mask & 0x7FF == 0x7FF and blksize == 4096 and attrs == M.STATX_ATTR_MOUNT_ROOT
    assert (nlink, uid, gid, mode) == (2, 3, 4, 0o100644)
    assert struct.unpack_from("<QQQQ", raw, 32) == (7, 11, 8, M.STATX_ATTR_MOUNT_ROOT)
    assert struct.unpack_from("<qI", raw, 64) == (1500, 123)           # atime
    assert struct.unpack_from("<qI", raw, 112) == (2_000_000_000, 456)  # mtime
    assert struct.unpack_from("<IIII", raw, 128) == (259, 300, 8, 1)
    assert struct.unpack_from("<Q", raw, 144) == (22,)


def test_statfs_values(kernel):
    vfs = kernel.vfs
    tg = M.Target(loc=vfs.resolve(b"/tmp"))
    raw = M.statfs_of(tg)
    assert len(raw) == 120
    f_type, f_bsize = struct.unpack_from("<qq", raw, 0)
    assert (f_type, f_bsize) == (M.TMPFS_MAGIC, 4096)
    assert struct.unpack_from("<q", raw, 64)[0] == 255             # f_namelen

    class FakeExt2:
        dev = 5

        def statfs(self):
            return dict(f_type=M.EXT2_SUPER_MAGIC, f_bsize=1024, f_blocks=10, f_bfree=4,
                        f_bavail=3, f_files=16, f_ffree=5, f_namelen=255, f_frsize=1024)

    class Ino:
        fs = FakeExt2()

    t2 = M.Target(loc=None)
    t2.inode = Ino()
    v = struct.unpack("<qqQQQQQiiqqq32x", M.statfs_of(t2))
    assert v[:7] == (M.EXT2_SUPER_MAGIC, 1024, 10, 4, 3, 16, 5)
    assert v[9] == 255 and v[10] == 1024 and v[11] & M.ST_VALID


def test_decode_dev():
    assert M._decode_dev((1 << 8) | 3) == makedev(1, 3)
    # glibc's makedev(259, 300) truncated to 32 bits, as the syscall gets it
    assert M._decode_dev(makedev(259, 300) & 0xFFFFFFFF) == makedev(259, 300)


def test_preadv_pipe_is_espipe(kernel):
    from akuma.kernel.pipe import Pipe, PipeEnd
    t = _task(kernel)
    r = PipeEnd(Pipe(kernel.sched), False)
    fd = t.process.fds.install(r)
    with pytest.raises(KernelError) as e:
        M._preadv(t, fd, 0, 0, 0)
    assert e.value.errno == ESPIPE
