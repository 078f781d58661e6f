"""memfs specifics: the size limit, link counts, inode numbers, st_dev."""
from akuma.abi import fcntl as F
from akuma.abi import stat as st
from akuma.abi.errors import ENOSPC, ENXIO
from akuma.vfs import MemFs, Vfs

from vfs_helpers import raises


def test_enospc():
    fs = MemFs(limit=10000)
    v = Vfs(fs)
    f = v.open(b"/a", F.O_CREAT | F.O_RDWR)
    assert f.write(b"x" * 6000) == 6000
    g = v.open(b"/b", F.O_CREAT | F.O_RDWR)
    assert g.write(b"y" * 6000) == 4000        # short write up to the limit
    with raises(ENOSPC):
        g.write(b"y")
    with raises(ENOSPC):
        f.truncate(7000)
    assert fs.used == 10000
    f.truncate(1000)                           # shrinking frees space
    assert g.write(b"z" * 100) == 100
    v.unlink(b"/b")                            # the last link frees it
    assert fs.used == 1000
    assert g.write(b"q" * 5000) == 5000        # an unlinked open file still works
    assert fs.used == 1000
    h = v.open(b"/c", F.O_CREAT | F.O_RDWR)
    h.pwrite(b"1", 8999)                       # the hole counts as well
    assert fs.used == 10000
    with raises(ENOSPC):
        h.pwrite(b"1", 9000)


def test_default_limit():
    assert MemFs().limit == 256 << 20


def test_inodes_and_dev():
    a, b = MemFs(), MemFs()
    assert a.dev != b.dev
    v = Vfs(a)
    v.mount(b"/b", b)
    for p in (b"/x", b"/y", b"/b/x"):
        v.open(p, F.O_CREAT | F.O_WRONLY)
    sx, sy, sbx = v.stat(b"/x"), v.stat(b"/y"), v.stat(b"/b/x")
    assert sx.ino != sy.ino and sx.dev == sy.dev == a.dev and sbx.dev == b.dev
    assert st.S_IFMT & sx.mode == st.S_IFREG


def test_nlink_dirs():
    v = Vfs()
    v.mkdir(b"/d")
    v.mkdir(b"/d/a")
    v.mkdir(b"/d/b")
    assert v.stat(b"/d").nlink == 4
    v.rename(b"/d/a", b"/a")
    assert v.stat(b"/d").nlink == 3 and v.stat(b"/").nlink == 4
    v.rmdir(b"/d/b")
    assert v.stat(b"/d").nlink == 2


def test_mknod_without_driver():
    v = Vfs()
    v.mknod(b"/fifo", st.S_IFIFO | 0o644)
    assert v.stat(b"/fifo").mode == st.S_IFIFO | 0o644
    with raises(ENXIO):
        v.open(b"/fifo", F.O_RDONLY)
    # the kernel's hook serves special files
    seen = []
    v.special_open = lambda inode, flags: seen.append(inode) or __import__(
        "akuma.vfs", fromlist=["OpenFile"]).OpenFile(inode, flags)
    v.open(b"/fifo", F.O_RDONLY)
    assert seen and seen[0].kind == st.S_IFIFO
