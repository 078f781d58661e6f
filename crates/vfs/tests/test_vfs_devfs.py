"""/dev memory devices."""
import pytest

from akuma.abi import fcntl as F
from akuma.abi import makedev, stat as st
from akuma.abi.errors import ENOSPC
from akuma.vfs import Vfs, make_devfs

from vfs_helpers import raises


@pytest.fixture
def vfs():
    v = Vfs()
    v.mount(b"/dev", make_devfs())
    return v


def test_nodes(vfs):
    for name, minor in ((b"null", 3), (b"zero", 5), (b"full", 7), (b"random", 8),
                        (b"urandom", 9)):
        s = vfs.stat(b"/dev/" + name)
        assert s.mode & st.S_IFMT == st.S_IFCHR
        assert s.mode & 0o777 == 0o666
        assert s.rdev == makedev(1, minor)


def test_null(vfs):
    f = vfs.open(b"/dev/null", F.O_RDWR)
    assert f.read(100) == b""
    assert f.readinto([memoryview(bytearray(10))]) == 0
    assert f.write(b"abc") == 3
    assert f.writefrom([memoryview(b"ab"), memoryview(b"cd")]) == 4
    assert f.lseek(100, F.SEEK_SET) == 0


def test_zero(vfs):
    f = vfs.open(b"/dev/zero", F.O_RDWR)
    assert f.read(16) == bytes(16)
    buf = bytearray(b"\xff" * 32)
    assert f.readinto([memoryview(buf)[:20], memoryview(buf)[20:]]) == 32
    assert buf == bytes(32)
    assert f.write(b"x" * 10) == 10
    assert f.pread(4, 1000) == bytes(4)


def test_full(vfs):
    f = vfs.open(b"/dev/full", F.O_RDWR)
    assert f.read(8) == bytes(8)
    with raises(ENOSPC):
        f.write(b"x")


def test_random(vfs):
    f = vfs.open(b"/dev/urandom", F.O_RDONLY)
    a, b = f.read(32), f.read(32)
    assert len(a) == 32 and a != b
    buf = bytearray(64)
    assert vfs.open(b"/dev/random", 0).readinto([memoryview(buf)]) == 64 and any(buf)


def test_mknod_finds_driver(vfs):
    vfs.mkdir(b"/tmp")
    vfs.mknod(b"/tmp/mynull", st.S_IFCHR | 0o600, makedev(1, 3))
    f = vfs.open(b"/tmp/mynull", F.O_RDWR)
    assert f.read(10) == b"" and f.write(b"x") == 1


def test_custom_unseekable_driver(vfs):
    from akuma.abi.errors import ESPIPE
    from akuma.vfs import CharDevFile

    class Tty(CharDevFile):
        seekable = False

        def _read_at(self, n, off):
            return b"k"[:n]

    devfs = vfs.lookup(b"/dev").fs
    devfs.add_device(b"ttyX", makedev(4, 64), Tty, mode=0o620)
    f = vfs.open(b"/dev/ttyX", F.O_RDWR)
    assert f.read(5) == b"k"
    with raises(ESPIPE):
        f.lseek(0, F.SEEK_SET)
    with raises(ESPIPE):
        f.pread(1, 0)
    assert vfs.stat(b"/dev/ttyX").rdev == makedev(4, 64)
