"""open(2) flags and OpenFile I/O on memfs."""
import pytest

from akuma.abi import fcntl as F
from akuma.abi.errors import (EBADF, EEXIST, EINVAL, EISDIR, ELOOP, ENOENT, ENOTDIR, ENXIO,
                              ENOTTY, EOPNOTSUPP)
from akuma.vfs import Vfs

from vfs_helpers import raises

RW_CREAT = F.O_RDWR | F.O_CREAT


@pytest.fixture
def vfs():
    v = Vfs()
    v.mkdir(b"/d")
    v.open(b"/d/f", RW_CREAT).write(b"0123456789")
    v.symlink(b"f", b"/d/l")
    return v


def test_create_mode_umask(vfs):
    vfs.open(b"/d/new", F.O_CREAT | F.O_WRONLY, 0o666, umask=0o027)
    assert vfs.stat(b"/d/new").mode & 0o7777 == 0o640
    f = vfs.open(b"new", F.O_CREAT | F.O_WRONLY, cwd=b"/d")
    assert f.path == b"/d/new"


def test_excl(vfs):
    with raises(EEXIST):
        vfs.open(b"/d/f", RW_CREAT | F.O_EXCL)
    with raises(EEXIST):
        vfs.open(b"/d/l", RW_CREAT | F.O_EXCL)      # even a symlink
    vfs.symlink(b"/d/target", b"/d/dangling")
    with raises(EEXIST):
        vfs.open(b"/d/dangling", RW_CREAT | F.O_EXCL)
    vfs.open(b"/d/dangling", RW_CREAT).write(b"x")   # O_CREAT makes the target
    assert vfs.stat(b"/d/target").size == 1
    vfs.open(b"/d/e", RW_CREAT | F.O_EXCL)


def test_trunc(vfs):
    f = vfs.open(b"/d/f", F.O_WRONLY | F.O_TRUNC)
    assert vfs.stat(b"/d/f").size == 0
    f.write(b"ab")
    assert vfs.open(b"/d/l", F.O_RDONLY).read(100) == b"ab"


def test_append(vfs):
    f = vfs.open(b"/d/f", F.O_WRONLY | F.O_APPEND)
    g = vfs.open(b"/d/f", F.O_RDWR)
    g.write(b"AB")
    f.write(b"xy")
    assert f.lseek(0, F.SEEK_CUR) == 12
    f.lseek(0, F.SEEK_SET)
    f.write(b"z")                          # still to the end
    assert vfs.open(b"/d/f", 0).read(100) == b"AB23456789xyz"
    assert f.pwrite(b"P", 0) == 1          # Linux: pwrite with O_APPEND appends
    assert vfs.stat(b"/d/f").size == 14
    f.flags &= ~F.O_APPEND                 # F_SETFL
    f.lseek(0, F.SEEK_SET)
    f.write(b"Q")
    assert vfs.open(b"/d/f", 0).read(1) == b"Q"


def test_directory_flags(vfs):
    with raises(ENOTDIR):
        vfs.open(b"/d/f", F.O_RDONLY | F.O_DIRECTORY)
    with raises(EISDIR):
        vfs.open(b"/d", F.O_WRONLY)
    with raises(EISDIR):
        vfs.open(b"/d", F.O_RDWR)
    with raises(EISDIR):
        vfs.open(b"/d", F.O_RDONLY | F.O_CREAT)
    with raises(EISDIR):
        vfs.open(b"/d/nf/", F.O_RDWR | F.O_CREAT)
    with raises(EINVAL):
        vfs.open(b"/d/x", F.O_CREAT | F.O_DIRECTORY)
    d = vfs.open(b"/d", F.O_RDONLY | F.O_DIRECTORY)
    with raises(EISDIR):
        d.read(10)
    with raises(ENOENT):
        vfs.open(b"/d/missing", F.O_RDONLY)
    with raises(EOPNOTSUPP):
        vfs.open(b"/d", F.O_TMPFILE | F.O_RDWR)


def test_nofollow_and_path(vfs):
    with raises(ELOOP):
        vfs.open(b"/d/l", F.O_RDONLY | F.O_NOFOLLOW)
    with raises(ELOOP):
        vfs.open(b"/d/l", RW_CREAT | F.O_NOFOLLOW)
    p = vfs.open(b"/d/l", F.O_PATH | F.O_NOFOLLOW)
    assert p.opath and p.stat().is_lnk
    for op in (lambda: p.read(1), lambda: p.write(b"x"), lambda: p.lseek(0, 0),
               lambda: p.getdents(), lambda: p.ioctl(0, 0), lambda: p.truncate(0)):
        with raises(EBADF):
            op()
    assert not p.readable and not p.writable
    q = vfs.open(b"/d", F.O_PATH | F.O_RDWR)        # access mode ignored with O_PATH
    assert q.stat().is_dir and q.path == b"/d"


def test_access_mode_ebadf(vfs):
    r = vfs.open(b"/d/f", F.O_RDONLY)
    w = vfs.open(b"/d/f", F.O_WRONLY)
    assert r.readable and not r.writable and w.writable and not w.readable
    with raises(EBADF):
        r.write(b"x")
    with raises(EBADF):
        w.read(1)
    with raises(EBADF):
        w.pread(1, 0)
    with raises(EINVAL):
        r.truncate(0)                       # ftruncate needs a writable file


def test_read_write_seek(vfs):
    f = vfs.open(b"/d/f", F.O_RDWR)
    assert f.read(3) == b"012"
    assert f.pread(2, 8) == b"89"
    assert f.read(3) == b"345"
    assert f.lseek(-2, F.SEEK_END) == 8
    assert f.read(100) == b"89"
    assert f.read(100) == b""
    with raises(EINVAL):
        f.lseek(-1, F.SEEK_SET)
    with raises(EINVAL):
        f.lseek(-11, F.SEEK_END)
    with raises(EINVAL):
        f.lseek(0, 7)
    assert f.lseek(3, F.SEEK_DATA) == 3
    assert f.lseek(3, F.SEEK_HOLE) == 10
    with raises(ENXIO):
        f.lseek(10, F.SEEK_DATA)
    with raises(EINVAL):
        f.pread(1, -1)
    # writing past the end leaves a zero-filled hole
    f.lseek(12, F.SEEK_SET)
    f.write(b"!")
    assert f.pread(100, 9) == b"9\0\0!"
    f.truncate(4)
    assert f.stat().size == 4
    with raises(ENOTTY):
        f.ioctl(0x5401, 0)
    assert f.poll_ready() == (True, True)
    assert f.seekable and f.host_fd is None


def test_readinto_writefrom(vfs):
    f = vfs.open(b"/d/f", F.O_RDWR)
    a, b = bytearray(4), bytearray(8)
    assert f.readinto([memoryview(a), memoryview(b)]) == 10
    assert bytes(a) == b"0123" and bytes(b[:6]) == b"456789"
    assert f.readinto([memoryview(a)]) == 0
    f.lseek(0, F.SEEK_SET)
    assert f.writefrom([memoryview(b"AB"), memoryview(bytearray(b"CD"))]) == 4
    assert f.pread(6, 0) == b"ABCD45"
    f.lseek(0, F.SEEK_SET)
    buf = bytearray(3)
    assert f.readinto([memoryview(buf)]) == 3 and bytes(buf) == b"ABC"


def test_flags_kept(vfs):
    f = vfs.open(b"/d/f", F.O_RDWR | F.O_CREAT | F.O_CLOEXEC | F.O_NONBLOCK)
    assert f.flags & F.O_ACCMODE == F.O_RDWR
    assert f.flags & F.O_NONBLOCK
    assert not f.flags & (F.O_CREAT | F.O_CLOEXEC)


def test_times_and_inodes(vfs):
    s1 = vfs.stat(b"/d/f")
    f = vfs.open(b"/d/f", F.O_WRONLY)
    f.write(b"x")
    s2 = f.stat()
    assert s2.mtime_ns >= s1.mtime_ns and s2.ctime_ns >= s1.ctime_ns
    inos = {vfs.stat(p).ino for p in (b"/", b"/d", b"/d/f", b"/d/l")}
    assert len(inos) == 4 or vfs.stat(b"/d/l").ino == vfs.stat(b"/d/f").ino
    assert vfs.stat(b"/d/l", follow=False).ino != vfs.stat(b"/d/f").ino
    assert vfs.stat(b"/d").nlink == 2 and vfs.stat(b"/").nlink == 3
