"""ext2 htree (dir_index) directories: an image indexed by e2fsprogs (mke2fs
-d, then e2fsck -fyD builds a two-level index) is read through our ext2 —
every name looked up, getdents lists each entry once, stat — and then
changed: creating and removing entries clears EXT2_INDEX_FL as Linux does
when it can't keep the index, and e2fsck -fn finds nothing afterwards."""
import os
import shutil
import subprocess

import pytest

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi import stat as st
from akuma.abi.errors import ENOENT
from akuma.vfs import Vfs
from akuma.vfs.ext2 import Ext2Fs

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("mke2fs", "e2fsck", "debugfs")),
    reason="e2fsprogs is not installed")

N = 3000
INDEX_FL = 0x1000


def _name(i):
    return f"file-{i:05d}-{'x' * (i % 40)}"


def _run(*cmd):
    r = subprocess.run([str(c) for c in cmd], capture_output=True)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


def _cat(img, path):
    r = subprocess.run(["debugfs", "-R", f"cat {path}", str(img)], capture_output=True)
    return r.stdout


def _flags(img, path):
    rc, out = _run("debugfs", "-R", f"stat {path}", img)
    assert rc == 0, out
    return int(out.split("Flags: ", 1)[1].split()[0], 16)


@pytest.fixture
def img(tmp_path):
    src = tmp_path / "src" / "big"
    src.mkdir(parents=True)
    for i in range(N):
        (src / _name(i)).write_text(str(i))
    os.chmod(src, 0o755)
    image = tmp_path / "fs.img"
    rc, out = _run("mke2fs", "-q", "-F", "-t", "ext2", "-O", "dir_index", "-b", "1024",
                   "-d", tmp_path / "src", image, "16M")
    assert rc == 0, out
    rc, out = _run("e2fsck", "-fyD", image)
    assert rc in (0, 1), out             # 1: the directories were optimised (indexed)
    rc, out = _run("debugfs", "-R", "htree /big", image)
    assert "Indirect levels: 1" in out, out     # a real two-level index
    assert _flags(image, "/big") & INDEX_FL
    return image


def _listing(v, path):
    f = v.open(path, F.O_RDONLY | F.O_DIRECTORY)
    try:
        return [n for _ino, _t, n in f.getdents()]
    finally:
        f.close()


def test_htree_directory_read(img):
    v = Vfs()
    fs = Ext2Fs(img, readonly=True)
    v.mount(b"/mnt", fs)
    names = _listing(v, b"/mnt/big")
    assert len(names) == len(set(names)) == N + 2
    assert set(names) == {_name(i).encode() for i in range(N)} | {b".", b".."}
    for i in range(N):
        p = b"/mnt/big/" + _name(i).encode()
        s = v.stat(p)
        assert s.mode & st.S_IFMT == st.S_IFREG and s.size == len(str(i))
    f = v.open(b"/mnt/big/" + _name(1234).encode(), F.O_RDONLY)
    assert f.read(100) == b"1234"
    f.close()
    with pytest.raises(KernelError) as e:
        v.stat(b"/mnt/big/file-99999")
    assert e.value.errno == ENOENT
    fs.unmount()
    assert _flags(img, "/big") & INDEX_FL      # reading leaves the index alone
    rc, out = _run("e2fsck", "-fn", img)
    assert rc == 0, out


def test_htree_directory_changed(img):
    v = Vfs()
    fs = Ext2Fs(img)
    v.mount(b"/mnt", fs)
    for i in range(0, N, 3):
        v.unlink(b"/mnt/big/" + _name(i).encode())
    for i in range(200):
        f = v.open(b"/mnt/big/new-%04d" % i, F.O_CREAT | F.O_WRONLY)
        f.write(b"new %d" % i)
        f.close()
    v.mkdir(b"/mnt/big/sub", 0o755)
    want = ({_name(i).encode() for i in range(N) if i % 3} | {b"new-%04d" % i for i in range(200)}
            | {b"sub", b".", b".."})
    names = _listing(v, b"/mnt/big")
    assert len(names) == len(set(names)) and set(names) == want
    fs.unmount()
    assert not _flags(img, "/big") & INDEX_FL   # no longer kept as an index
    rc, out = _run("e2fsck", "-fn", img)
    assert rc == 0, out
    assert _cat(img, "/big/new-0123") == b"new 123"
    assert _cat(img, f"/big/{_name(2999)}") == b"2999"
    rc, out = _run("debugfs", "-R", f"stat /big/{_name(3)}", img)
    assert "not found" in out, out
    # and e2fsprogs can index it again
    rc, out = _run("e2fsck", "-fyD", img)
    assert rc in (0, 1), out
    rc, out = _run("e2fsck", "-fn", img)
    assert rc == 0, out
