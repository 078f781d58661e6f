"""hostfs: passthrough, confinement, read-only mounts, a host sysroot."""
import os

import pytest

from akuma.abi import fcntl as F
from akuma.abi.errors import (EEXIST, ENOENT, ENOTDIR, ENOTEMPTY, EROFS, EXDEV, EISDIR,
                              EBUSY)
from akuma.vfs import DT_DIR, DT_LNK, DT_REG, HostFs, MemFs, ProcFs, Vfs, make_devfs

from vfs_helpers import raises


@pytest.fixture
def host(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "f.txt").write_bytes(b"host data")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_bytes(b"guest passwd")
    os.symlink("/etc/passwd", tmp_path / "abs")          # absolute: guest namespace
    os.symlink("../etc", tmp_path / "dir" / "up")
    os.symlink("../../../../../../etc", tmp_path / "escape")
    return tmp_path


@pytest.fixture
def vfs(host):
    v = Vfs()
    v.mount(b"/h", HostFs(host))
    return v


def test_read_and_stat(vfs, host):
    f = vfs.open(b"/h/dir/f.txt", F.O_RDONLY)
    assert f.host_fd is not None
    assert f.read(4) == b"host"
    buf = bytearray(10)
    assert f.readinto([memoryview(buf)]) == 5 and bytes(buf[:5]) == b" data"
    s = vfs.stat(b"/h/dir/f.txt")
    hs = os.lstat(host / "dir" / "f.txt")
    assert (s.ino, s.size, s.uid, s.gid) == (hs.st_ino, 9, hs.st_uid, hs.st_gid)
    assert s.dev == vfs.stat(b"/h").dev != vfs.stat(b"/").dev
    assert f.stat().ino == hs.st_ino
    assert f.pread(4, 5) == b"data"
    assert f.lseek(-4, F.SEEK_END) == 5
    f.close()
    assert f.host_fd is None


def test_symlinks_walk_in_guest(vfs, host):
    # /h/abs -> /etc/passwd: resolved in the guest namespace (not the host's)
    with raises(ENOENT):
        vfs.stat(b"/h/abs")
    vfs.mkdir(b"/etc")
    vfs.open(b"/etc/passwd", F.O_CREAT | F.O_WRONLY).write(b"memfs passwd")
    assert vfs.open(b"/h/abs", 0).read(100) == b"memfs passwd"
    assert vfs.readlink(b"/h/abs") == b"/etc/passwd"
    assert vfs.open(b"/h/dir/up/passwd", 0).read(100) == b"guest passwd"


def test_cannot_escape(host):
    v = Vfs(HostFs(host / "dir"))           # the host dir as the guest root
    assert v.resolve(b"/../../..").path == b"/"
    assert v.stat(b"/..").ino == os.stat(host / "dir").st_ino
    with raises(ENOENT):
        v.stat(b"/up/passwd")                # ../etc is clamped at the root: /etc
    v.mkdir(b"/etc")
    assert v.stat(b"/up").ino == os.stat(host / "dir" / "etc").st_ino
    v2 = Vfs(HostFs(host))
    # the escape link resolves to /etc of the *guest*, i.e. host/etc
    assert v2.open(b"/escape/passwd", 0).read(100) == b"guest passwd"
    os.symlink("/etc", host / "etclink")
    assert v2.open(b"/etclink/passwd", 0).read(100) == b"guest passwd"
    with raises(ENOENT):
        v2.stat(b"/etclink/hostname")       # the host's /etc is unreachable


def test_write_passthrough(vfs, host):
    f = vfs.open(b"/h/new", F.O_CREAT | F.O_RDWR | F.O_EXCL, 0o640, umask=0)
    assert f.write(b"abc") == 3
    assert f.writefrom([memoryview(b"de"), memoryview(b"f")]) == 3
    assert (host / "new").read_bytes() == b"abcdef"
    assert os.stat(host / "new").st_mode & 0o777 == 0o640
    with raises(EEXIST):
        vfs.open(b"/h/new", F.O_CREAT | F.O_EXCL | F.O_WRONLY)
    a = vfs.open(b"/h/new", F.O_WRONLY | F.O_APPEND)
    a.write(b"!")
    assert (host / "new").read_bytes() == b"abcdef!"
    t = vfs.open(b"/h/new", F.O_WRONLY | F.O_TRUNC)
    assert (host / "new").read_bytes() == b""
    t.write(b"0123456789")
    t.truncate(4)
    assert (host / "new").read_bytes() == b"0123"
    old = os.umask(0o077)                    # the host's umask does not apply
    try:
        vfs.mkdir(b"/h/sub", 0o775)
        vfs.open(b"/h/sub/g", F.O_CREAT | F.O_WRONLY, 0o666, umask=0o002)
    finally:
        os.umask(old)
    assert os.stat(host / "sub").st_mode & 0o777 == 0o775
    assert os.stat(host / "sub" / "g").st_mode & 0o777 == 0o664
    vfs.unlink(b"/h/sub/g")
    vfs.symlink(b"target", b"/h/sub/ln")
    assert os.readlink(host / "sub" / "ln") == "target"
    vfs.rename(b"/h/new", b"/h/sub/moved")
    assert (host / "sub" / "moved").read_bytes() == b"0123"
    with raises(ENOTEMPTY):
        vfs.rmdir(b"/h/sub")
    vfs.link(b"/h/sub/moved", b"/h/hard")
    assert vfs.stat(b"/h/hard").nlink == 2
    vfs.chmod(b"/h/hard", 0o600)
    assert os.stat(host / "hard").st_mode & 0o777 == 0o600
    vfs.truncate(b"/h/hard", 1)
    assert (host / "hard").read_bytes() == b"0"
    vfs.unlink(b"/h/sub/moved")
    vfs.unlink(b"/h/sub/ln")
    vfs.rmdir(b"/h/sub")
    assert not (host / "sub").exists()
    with raises(ENOENT):
        vfs.unlink(b"/h/sub")
    with raises(EISDIR):
        vfs.unlink(b"/h/dir")
    with raises(EXDEV):
        vfs.rename(b"/h/hard", b"/hard")


def test_getdents(vfs, host):
    for i in range(30):
        (host / "dir" / f"n{i:02d}").write_bytes(b"")
    f = vfs.open(b"/h/dir", F.O_RDONLY | F.O_DIRECTORY)
    ents = {}
    while True:
        chunk = f.getdents()
        if not chunk:
            break
        ents.update({n: (i, t) for i, t, n in chunk[:7]})
        f.consume_dirents(min(7, len(chunk)))
    assert len(ents) == 2 + 32
    assert ents[b"f.txt"] == (os.lstat(host / "dir" / "f.txt").st_ino, DT_REG)
    assert ents[b"up"][1] == DT_LNK and ents[b"."][1] == DT_DIR


def test_readonly(host):
    v = Vfs()
    v.mount(b"/ro", HostFs(host, readonly=True))
    assert v.open(b"/ro/dir/f.txt", F.O_RDONLY).read(4) == b"host"
    for op in (lambda: v.open(b"/ro/dir/f.txt", F.O_WRONLY),
               lambda: v.open(b"/ro/dir/f.txt", F.O_RDWR),
               lambda: v.open(b"/ro/dir/f.txt", F.O_RDONLY | F.O_TRUNC),
               lambda: v.open(b"/ro/new", F.O_CREAT | F.O_WRONLY),
               lambda: v.mkdir(b"/ro/d"),
               lambda: v.unlink(b"/ro/dir/f.txt"),
               lambda: v.unlink(b"/ro/dir/none"),
               lambda: v.rmdir(b"/ro/etc"),
               lambda: v.rename(b"/ro/dir", b"/ro/dir2"),
               lambda: v.symlink(b"x", b"/ro/s"),
               lambda: v.chmod(b"/ro/dir", 0o700),
               lambda: v.truncate(b"/ro/dir/f.txt", 0),
               lambda: v.access(b"/ro/dir/f.txt", 2)):
        with raises(EROFS):
            op()
    with raises(EEXIST):
        v.mkdir(b"/ro/dir")                  # EEXIST wins over EROFS, as on Linux
    assert (host / "dir" / "f.txt").read_bytes() == b"host data"
    # a read-only mount of a writable fs
    w = Vfs()
    w.mount(b"/m", MemFs(), readonly=True)
    with raises(EROFS):
        w.mkdir(b"/m/x")


def test_host_errors(vfs, host):
    with raises(ENOTDIR):
        vfs.stat(b"/h/dir/f.txt/x")
    with raises(ENOENT):
        vfs.open(b"/h/nothing", F.O_RDONLY)
    with raises(ENOTDIR):
        vfs.open(b"/h/dir/f.txt", F.O_RDONLY | F.O_DIRECTORY)


def test_hostfs_root_with_dev_and_proc(host):
    v = Vfs()
    v.mount(b"/", HostFs(host, readonly=True))
    v.mount(b"/dev", make_devfs())
    v.mount(b"/proc", ProcFs(lambda: b"/dir/f.txt"))
    v.mount(b"/run/user/0", MemFs())       # missing parents are overlaid, not created
    assert not (host / "dev").exists() and not (host / "proc").exists()
    assert not (host / "run").exists()
    assert v.open(b"/dev/zero", 0).read(3) == bytes(3)
    assert v.open(b"/proc/self/exe", 0).read(100) == b"host data"
    assert v.stat(b"/dev/..").ino == os.stat(host).st_ino
    assert v.open(b"/etc/passwd", 0).read(5) == b"guest"
    v.mkdir(b"/run/user/0/x")
    assert v.stat(b"/run/user/0/x").is_dir
    names = [n for _, _, n in v.open(b"/", 0).getdents()]
    assert b"dir" in names and b"dev" in names and b"proc" in names
    with raises(EROFS):
        v.rmdir(b"/dev")                     # EROFS is checked first, as on Linux
    # mounts made before the root is replaced carry over
    v2 = Vfs()
    v2.mount(b"/dev", make_devfs())
    v2.mount(b"/", HostFs(host))
    assert v2.open(b"/dev/null", 0).read(1) == b""
    assert not (host / "dev").exists()
    with raises(EBUSY):
        v2.rmdir(b"/dev")
    with raises(EEXIST):
        v2.mkdir(b"/dev")
