"""Path walk: errno cases, symlinks, .., mounts, cwd and root."""
import pytest

from akuma.abi import fcntl as F
from akuma.abi.errors import (EEXIST, EINVAL, EISDIR, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR,
                              ENOTEMPTY, EXDEV, EBUSY, EPERM)
from akuma.vfs import MemFs, Vfs

from vfs_helpers import raises


@pytest.fixture
def vfs():
    v = Vfs()
    v.mkdir(b"/a")
    v.mkdir(b"/a/b")
    f = v.open(b"/a/file", F.O_CREAT | F.O_WRONLY)
    f.write(b"hello")
    return v


def test_enoent_and_empty(vfs):
    with raises(ENOENT):
        vfs.stat(b"/nope")
    with raises(ENOENT):
        vfs.stat(b"/nope/x")
    with raises(ENOENT):
        vfs.stat(b"")


def test_enotdir_component(vfs):
    with raises(ENOTDIR):
        vfs.stat(b"/a/file/x")
    with raises(ENOTDIR):
        vfs.stat(b"/a/file/.")
    with raises(ENOTDIR):
        vfs.stat(b"/a/file/..")


def test_trailing_slash(vfs):
    assert vfs.stat(b"/a/b/").is_dir
    with raises(ENOTDIR):
        vfs.stat(b"/a/file/")
    vfs.symlink(b"b", b"/a/lb")
    assert vfs.stat(b"/a/lb/", follow=False).is_dir      # trailing / follows
    assert vfs.stat(b"/a/lb", follow=False).is_lnk


def test_nametoolong():
    v = Vfs()
    with raises(ENAMETOOLONG):
        v.stat(b"/" + b"x" * 256)
    with raises(ENAMETOOLONG):
        v.mkdir(b"/" + b"x" * 256)
    v.mkdir(b"/" + b"x" * 255)
    with raises(ENAMETOOLONG):
        v.stat(b"/" + b"a/" * 2048)
    with raises(ENAMETOOLONG):
        v.symlink(b"y" * 4096, b"/l")


def test_relative_and_dots(vfs):
    assert vfs.stat(b"file", cwd=b"/a").is_reg
    assert vfs.stat(b"b/../file", cwd=b"/a").is_reg
    assert vfs.stat(b"./b/./../file", cwd=b"/a").is_reg
    assert vfs.resolve(b"../../../..", cwd=b"/a/b").path == b"/"
    assert vfs.resolve(b"b/..//b", cwd=b"/a").path == b"/a/b"
    assert vfs.resolve_dir(b"b", cwd=b"/a") == b"/a/b"
    with raises(ENOTDIR):
        vfs.resolve_dir(b"/a/file")


def test_symlinks(vfs):
    vfs.symlink(b"/a/file", b"/abs")
    vfs.symlink(b"a/b", b"/rel")
    vfs.symlink(b"../file", b"/a/b/up")
    assert vfs.stat(b"/abs").size == 5
    assert vfs.stat(b"/abs", follow=False).is_lnk
    assert vfs.resolve(b"/rel/up").path == b"/a/file"
    assert vfs.readlink(b"/abs") == b"/a/file"
    with raises(EINVAL):
        vfs.readlink(b"/a/file")
    vfs.symlink(b"/nowhere", b"/dangling")
    with raises(ENOENT):
        vfs.stat(b"/dangling")
    assert vfs.stat(b"/dangling", follow=False).is_lnk


def test_symlink_loops(vfs):
    vfs.symlink(b"loop", b"/loop")
    with raises(ELOOP):
        vfs.stat(b"/loop")
    with raises(ELOOP):
        vfs.stat(b"/loop/x")
    vfs.symlink(b"y", b"/x")
    vfs.symlink(b"x", b"/y")
    with raises(ELOOP):
        vfs.open(b"/x", F.O_RDONLY)


def test_symlink_chain_limit():
    v = Vfs()
    v.mkdir(b"/d")
    v.symlink(b"/d", b"/l0")
    for i in range(1, 41):
        v.symlink(b"/l%d" % (i - 1), b"/l%d" % i)
    assert v.stat(b"/l39").is_dir         # 40 links followed: fine
    with raises(ELOOP):
        v.stat(b"/l40")                   # 41: ELOOP


def test_absolute_symlink_relative_to_root(vfs):
    vfs.mkdir(b"/jail")
    vfs.mkdir(b"/jail/etc")
    vfs.symlink(b"/etc", b"/jail/e")
    assert vfs.resolve(b"/e", root=b"/jail").path == b"/etc"
    assert vfs.stat(b"/e", root=b"/jail").ino == vfs.stat(b"/jail/etc").ino
    assert vfs.resolve(b"/../../..", root=b"/jail").inode is vfs.lookup(b"/jail")


def test_mkdir_errors(vfs):
    with raises(EEXIST):
        vfs.mkdir(b"/a")
    with raises(EEXIST):
        vfs.mkdir(b"/a/file")
    with raises(EEXIST):
        vfs.mkdir(b"/")
    with raises(EEXIST):
        vfs.mkdir(b"/a/.")
    with raises(ENOENT):
        vfs.mkdir(b"/x/y")
    with raises(ENOTDIR):
        vfs.mkdir(b"/a/file/y")
    vfs.mkdir(b"/a/new/")                 # trailing slash is fine for mkdir
    vfs.mkdir(b"/m", 0o750)
    assert vfs.stat(b"/m").mode & 0o7777 == 0o750
    vfs.mkdir(b"/m2", 0o777, umask=0o022)
    assert vfs.stat(b"/m2").mode & 0o7777 == 0o755


def test_unlink_rmdir_errors(vfs):
    with raises(EISDIR):
        vfs.unlink(b"/a")
    with raises(ENOENT):
        vfs.unlink(b"/a/none")
    with raises(ENOTDIR):
        vfs.unlink(b"/a/file/")
    with raises(ENOTDIR):
        vfs.rmdir(b"/a/file")
    with raises(ENOTEMPTY):
        vfs.rmdir(b"/a")
    with raises(EINVAL):
        vfs.rmdir(b"/a/b/.")
    with raises(ENOTEMPTY):
        vfs.rmdir(b"/a/b/..")
    with raises(EBUSY):
        vfs.rmdir(b"/")
    vfs.rmdir(b"/a/b")
    vfs.unlink(b"/a/file")
    vfs.rmdir(b"/a/")
    with raises(ENOENT):
        vfs.stat(b"/a")


def test_rename(vfs):
    vfs.rename(b"/a/file", b"/a/b/moved")
    assert vfs.stat(b"/a/b/moved").size == 5
    with raises(ENOENT):
        vfs.rename(b"/a/file", b"/x")
    with raises(EINVAL):
        vfs.rename(b"/a", b"/a/b/inside")
    vfs.mkdir(b"/c")
    vfs.mkdir(b"/c/d")
    with raises(ENOTEMPTY):
        vfs.rename(b"/a", b"/c")
    with raises(EISDIR):
        vfs.rename(b"/a/b/moved", b"/c")
    with raises(ENOTDIR):
        vfs.rename(b"/c", b"/a/b/moved")
    vfs.rename(b"/c/d", b"/e")            # dir over nothing
    vfs.mkdir(b"/f")
    vfs.rename(b"/e", b"/f")              # over an empty dir
    assert vfs.stat(b"/f").is_dir and vfs.stat(b"/c").nlink == 2
    with raises(EBUSY):
        vfs.rename(b"/f/.", b"/g")
    with raises(ENOTDIR):
        vfs.rename(b"/a/b/moved/", b"/g")
    # hard links to one inode: rename is a no-op
    vfs.link(b"/a/b/moved", b"/hl")
    vfs.rename(b"/hl", b"/a/b/moved")
    assert vfs.stat(b"/hl").nlink == 2


def test_cross_mount(vfs):
    vfs.mount(b"/mnt/t", MemFs())
    with raises(EXDEV):
        vfs.rename(b"/a/file", b"/mnt/t/file")
    with raises(EXDEV):
        vfs.link(b"/a/file", b"/mnt/t/file")
    with raises(EBUSY):
        vfs.rmdir(b"/mnt/t")
    with raises(EBUSY):
        vfs.rename(b"/mnt/t", b"/mnt/u")
    with raises(EPERM):
        vfs.link(b"/a", b"/a2")


def test_dotdot_across_mount():
    v = Vfs()
    inner = MemFs()
    v.mkdir(b"/x")
    v.mount(b"/x/m", inner)
    v.mkdir(b"/x/m/sub")
    root_dev = v.stat(b"/").dev
    assert v.stat(b"/x/m").dev == inner.dev != root_dev
    assert v.stat(b"/x/m/sub/../..").ino == v.stat(b"/x").ino
    assert v.stat(b"/x/m/..").dev == root_dev
    loc = v.resolve(b"..", cwd=b"/x/m")
    assert loc.path == b"/x" and loc.mnt is v.root_mount
    # The mount hides what was under it and is visible in readdir.
    names = [n for _, _, n in v.open(b"/x", F.O_RDONLY | F.O_DIRECTORY).getdents()]
    assert names.count(b"m") == 1


def test_mount_stack_and_umount():
    v = Vfs()
    a, b = MemFs(), MemFs()
    v.mount(b"/mnt", a)
    v.mount(b"/mnt", b)
    assert v.stat(b"/mnt").dev == b.dev
    v.umount(b"/mnt")
    assert v.stat(b"/mnt").dev == a.dev
    v.umount(b"/mnt")
    assert v.stat(b"/mnt").dev == v.stat(b"/").dev
    with raises(EINVAL):
        v.umount(b"/mnt")


def test_access(vfs):
    from akuma.abi.errors import EACCES
    vfs.access(b"/a/file", 4)
    with raises(EACCES):
        vfs.access(b"/a/file", 1)
    vfs.chmod(b"/a/file", 0o755)
    vfs.access(b"/a/file", 1)
    with raises(EINVAL):
        vfs.access(b"/a/file", 8)
    with raises(ENOENT):
        vfs.access(b"/zz", 0)


def test_link_and_symlink_errors(vfs):
    with raises(EEXIST):
        vfs.symlink(b"x", b"/a/file")
    with raises(ENOENT):
        vfs.symlink(b"", b"/s")
    with raises(EEXIST):
        vfs.link(b"/a/file", b"/a/file")
    vfs.link(b"/a/file", b"/a/hard")
    assert vfs.stat(b"/a/file").nlink == 2
    vfs.unlink(b"/a/file")
    assert vfs.stat(b"/a/hard").nlink == 1
    assert vfs.open(b"/a/hard", 0).read(10) == b"hello"


def test_truncate_and_chmod(vfs):
    vfs.truncate(b"/a/file", 2)
    assert vfs.open(b"/a/file", 0).read(10) == b"he"
    with raises(EISDIR):
        vfs.truncate(b"/a", 0)
    with raises(EINVAL):
        vfs.truncate(b"/a/file", -1)
    vfs.chown(b"/a/file", 1000, 100)
    s = vfs.stat(b"/a/file")
    assert (s.uid, s.gid) == (1000, 100)
