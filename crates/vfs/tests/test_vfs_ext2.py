"""ext2: images made and checked by e2fsprogs, read and written through the VFS.

Every test that writes ends with e2fsck -fn exiting 0 and debugfs reading
back exactly the bytes written."""
import hashlib
import os
import struct

import pytest

from akuma.abi import KernelError, makedev
from akuma.abi import fcntl as F
from akuma.abi import stat as st
from akuma.abi.errors import (EEXIST, EINVAL, EISDIR, EBUSY, ENOENT, ENOSPC, ENOTDIR,
                              ENOTEMPTY, EROFS)
from akuma.vfs import DT_DIR, DT_LNK, DT_REG, DT_UNKNOWN, Vfs
from akuma.vfs.ext2 import Ext2Fs, mkfs

from test_vfs_ext2_helpers import (assert_clean, dcat, debugfs_cmds, dstat, dwrite, listdir,
                                   mke2fs, needs_e2fsprogs, read_file, run, sb_field,
                                   walk_tree, write_file)
from vfs_helpers import raises

pytestmark = needs_e2fsprogs

GEOMETRIES = [
    pytest.param(1024, (), id="1k"),
    pytest.param(4096, (), id="4k"),
    pytest.param(1024, ("-O", "^resize_inode"), id="1k-noresize"),
    pytest.param(4096, ("-O", "^resize_inode"), id="4k-noresize"),
    pytest.param(4096, ("-I", "256"), id="4k-256-byte-inodes"),
    pytest.param(2048, ("-O", "^filetype"), id="2k-no-filetype"),
]


def mounted(img, **kw):
    v = Vfs()
    fs = Ext2Fs(img, **kw)
    v.mount(b"/mnt", fs)
    return v, fs


@pytest.mark.parametrize("bs,opts", GEOMETRIES)
def test_e2fsprogs_image_read_write(tmp_path, bs, opts):
    img = mke2fs(tmp_path / "fs.img", 24 << 20, bs, *opts)
    big = os.urandom(300 * 1024 + 123)      # past 12 + 256 blocks: double indirect on 1 KiB
    small = b"debugfs wrote me\n"
    (tmp_path / "big").write_bytes(big)
    (tmp_path / "small").write_bytes(small)
    debugfs_cmds(img, ["mkdir pre", f"write {tmp_path / 'big'} big",
                       f"write {tmp_path / 'small'} pre/small", "symlink pre/sl /big"])
    v, fs = mounted(img)
    assert sb_field(img, "Filesystem state") == "not clean"
    # e2fsprogs' files, read by us
    assert read_file(v, b"/mnt/big") == big
    assert read_file(v, b"/mnt/pre/small") == small
    assert v.readlink(b"/mnt/pre/sl") == b"/big"
    assert listdir(v, b"/mnt") == [b"big", b"lost+found", b"pre"]

    # ours
    v.mkdir(b"/mnt/d", 0o750)
    v.mkdir(b"/mnt/d/sub")
    write_file(v, b"/mnt/d/f1", b"one\n")
    write_file(v, b"/mnt/d/f2", b"two" * 5000)
    v.symlink(b"f1", b"/mnt/d/fast")                     # in i_block
    slow = b"/" + b"s" * 200                             # its own block
    v.symlink(slow, b"/mnt/d/slow")
    v.link(b"/mnt/d/f1", b"/mnt/d/hard")
    assert v.stat(b"/mnt/d/f1").nlink == 2
    assert v.stat(b"/mnt/d").nlink == 3
    v.rename(b"/mnt/d/f2", b"/mnt/d/sub/f2moved")
    write_file(v, b"/mnt/d/victim", b"x" * 5000)
    v.unlink(b"/mnt/d/victim")
    write_file(v, b"/mnt/d/over", b"overwritten")
    write_file(v, b"/mnt/d/src", b"replacement")
    v.rename(b"/mnt/d/src", b"/mnt/d/over")
    v.mkdir(b"/mnt/mv")
    v.mkdir(b"/mnt/mv/inner")
    v.rename(b"/mnt/mv", b"/mnt/d/sub/mv")
    assert v.stat(b"/mnt/d/sub").nlink == 3
    assert v.lookup(b"/mnt/d/sub/mv/..").ino == v.stat(b"/mnt/d/sub").ino
    # truncate: shrink (freeing indirect blocks) and grow (a hole)
    v.truncate(b"/mnt/big", 70000)
    v.truncate(b"/mnt/big", 90000)
    # sparse files: a hole in the middle, and one past 2 GiB
    f = v.open(b"/mnt/d/sparse", F.O_CREAT | F.O_RDWR)
    f.pwrite(b"start", 0)
    f.pwrite(b"end", 200_000)
    blocks_small = f.stat().blocks
    f.close()
    f = v.open(b"/mnt/huge", F.O_CREAT | F.O_RDWR)
    assert f.pwrite(b"beyond 3 GiB", 3 << 30) == 12
    f.close()
    assert v.stat(b"/mnt/huge").size == (3 << 30) + 12
    assert v.stat(b"/mnt/huge").blocks <= 5 * bs // 512
    assert blocks_small <= 3 * bs // 512
    assert read_file(v, b"/mnt/d/sparse") == b"start" + bytes(200_000 - 5) + b"end"
    # mode, owner (32-bit ids), times
    write_file(v, b"/mnt/d/owned", b"o")
    v.chmod(b"/mnt/d/owned", 0o4751)
    v.chown(b"/mnt/d/owned", 70000, 80001)
    v.utimens(b"/mnt/d/owned", 1_000_000_000 * 10**9, 1_200_000_000 * 10**9)
    s = v.stat(b"/mnt/d/owned")
    assert (s.mode, s.uid, s.gid) == (st.S_IFREG | 0o4751, 70000, 80001)
    assert s.mtime_ns == 1_200_000_000 * 10**9
    kinds = {n: t for _i, t, n in v.open(b"/mnt/d", F.O_RDONLY).getdents()}
    if "^filetype" in opts:                             # no types in the entries
        assert kinds[b"f1"] == kinds[b"sub"] == kinds[b"fast"] == DT_UNKNOWN
    else:
        assert kinds[b"f1"] == DT_REG and kinds[b"sub"] == DT_DIR and kinds[b"fast"] == DT_LNK
    fs.unmount()

    assert_clean(img)
    assert sb_field(img, "Filesystem state") == "clean"
    assert dcat(img, "/d/f1") == b"one\n"
    assert dcat(img, "/d/hard") == b"one\n"
    assert dcat(img, "/d/sub/f2moved") == b"two" * 5000
    assert dcat(img, "/d/over") == b"replacement"
    assert dcat(img, "/big") == big[:70000] + bytes(20000)
    assert dcat(img, "/pre/small") == small
    assert dcat(img, "/d/sparse") == b"start" + bytes(200_000 - 5) + b"end"
    assert dcat(img, "/d/slow") == slow
    assert 'Fast link dest: "f1"' in dstat(img, "/d/fast")
    assert "File not found" in run("debugfs", "-R", "stat /d/victim", img).stderr.decode()
    hs = dstat(img, "/huge")
    assert f"Size: {(3 << 30) + 12}" in hs
    # e2fsprogs maps the block at 3 GiB (and nothing just before it)
    lblk = (3 << 30) // bs
    pblk = int(run("debugfs", "-R", f"bmap /huge {lblk}", img).stdout.split()[-1])
    assert int(run("debugfs", "-R", f"bmap /huge {lblk - 1}", img).stdout.split()[-1]) == 0
    with open(img, "rb") as h:
        h.seek(pblk * bs)
        assert h.read(bs) == b"beyond 3 GiB" + bytes(bs - 12)
    so = dstat(img, "/d/owned")
    assert "User: 70000" in so and "Group: 80001" in so and "Mode:  04751" in so

    # and back through our own code, after e2fsck's blessing
    v, fs = mounted(img)
    tree = walk_tree(v, b"/mnt")
    assert tree[b"/d/hard"] == b"one\n"
    assert tree[b"/d/slow"] == ("link", slow)
    assert tree[b"/d/sub/mv/inner"] == "dir"
    fs.unmount()
    assert_clean(img)


@pytest.mark.parametrize("bs", [1024, 4096])
def test_mkfs_image_is_clean_and_round_trips(tmp_path, bs):
    img = tmp_path / "own.img"
    geo = mkfs(img, 40 << 20, block_size=bs, label=b"akuma")
    assert geo["groups"] >= (5 if bs == 1024 else 1)
    assert_clean(img)
    assert sb_field(img, "Filesystem volume name") == "akuma"
    v, fs = mounted(img)
    payload = os.urandom(bs * 300)
    v.mkdir(b"/mnt/a")
    write_file(v, b"/mnt/a/data", payload)
    v.symlink(b"a/data", b"/mnt/link")
    for i in range(40):
        write_file(v, b"/mnt/a/f%d" % i, b"%d" % i * (i + 1))
    fs.unmount()
    assert_clean(img)
    assert dcat(img, "/a/data") == payload
    assert dcat(img, "/a/f39") == b"39" * 40
    assert sb_field(img, "Mount count") == "1"


def test_mkfs_256_byte_inodes_and_many_groups(tmp_path):
    img = tmp_path / "own.img"
    mkfs(img, 70 << 20, block_size=1024, inode_size=256, inodes=4096)
    assert_clean(img)
    v, fs = mounted(img)
    for d in range(12):                    # directories spread over the groups
        v.mkdir(b"/mnt/d%d" % d)
        write_file(v, b"/mnt/d%d/x" % d, os.urandom(9000))
    fs.unmount()
    assert_clean(img)


def test_unlink_while_open_frees_at_close(tmp_path):
    img = mke2fs(tmp_path / "fs.img", 8 << 20, 1024)
    v, fs = mounted(img)
    before = fs.statfs()
    f = v.open(b"/mnt/tmp", F.O_CREAT | F.O_RDWR)
    f.write(os.urandom(100_000))
    v.unlink(b"/mnt/tmp")
    assert f.pread(5, 99_995) != b""           # still readable
    assert fs.statfs()["f_bfree"] < before["f_bfree"]
    f.close()
    after = fs.statfs()
    assert (after["f_bfree"], after["f_ffree"]) == (before["f_bfree"], before["f_ffree"])
    # unlinked and still open at unmount: freed then
    f = v.open(b"/mnt/tmp2", F.O_CREAT | F.O_RDWR)
    f.write(b"z" * 5000)
    v.unlink(b"/mnt/tmp2")
    fs.unmount()
    assert_clean(img)


def test_nodes_fifo_and_device_numbers(tmp_path):
    img = mke2fs(tmp_path / "fs.img", 4 << 20, 1024)
    v, fs = mounted(img)
    v.mknod(b"/mnt/null", st.S_IFCHR | 0o666, makedev(1, 3))
    v.mknod(b"/mnt/bigdev", st.S_IFBLK | 0o600, makedev(300, 70000))
    v.mknod(b"/mnt/fifo", st.S_IFIFO | 0o644)
    assert v.stat(b"/mnt/bigdev").rdev == makedev(300, 70000)
    fs.unmount()
    assert_clean(img)
    assert "Device major/minor number: 01:03" in dstat(img, "/null")
    assert "Type: FIFO" in dstat(img, "/fifo")
    assert "Device major/minor number: 300:70000" in dstat(img, "/bigdev")
    v, fs = mounted(img)
    assert v.stat(b"/mnt/null").rdev == makedev(1, 3)
    assert v.stat(b"/mnt/bigdev").rdev == makedev(300, 70000)
    assert v.stat(b"/mnt/fifo").mode == st.S_IFIFO | 0o644
    fs.unmount()


def test_errors_and_link_counts(tmp_path):
    img = mke2fs(tmp_path / "fs.img", 4 << 20, 1024)
    v, fs = mounted(img)
    v.mkdir(b"/mnt/a")
    v.mkdir(b"/mnt/a/b")
    write_file(v, b"/mnt/a/b/f", b"f")
    with raises(ENOTEMPTY):
        v.rmdir(b"/mnt/a/b")
    with raises(EINVAL):
        v.rename(b"/mnt/a", b"/mnt/a/b/c")
    with raises(EEXIST):
        v.mkdir(b"/mnt/a/b")
    with raises(ENOTDIR):
        v.rmdir(b"/mnt/a/b/f")
    with raises(EISDIR):
        v.unlink(b"/mnt/a")
    with raises(ENOENT):
        v.unlink(b"/mnt/a/nope")
    v.mkdir(b"/mnt/empty")
    v.rename(b"/mnt/empty", b"/mnt/a/b2")          # into another parent
    assert v.stat(b"/mnt").nlink == 4               # ., .., lost+found, a
    assert v.stat(b"/mnt/a").nlink == 4
    v.mkdir(b"/mnt/e2")
    v.rename(b"/mnt/e2", b"/mnt/a/b2")              # over an empty directory
    assert v.stat(b"/mnt/a").nlink == 4 and v.stat(b"/mnt").nlink == 4
    v.unlink(b"/mnt/a/b/f")
    v.rmdir(b"/mnt/a/b")
    assert v.stat(b"/mnt/a").nlink == 3
    with raises(ENOENT):
        v.stat(b"/mnt/a/b")
    fs.unmount()
    assert_clean(img)


def test_enospc_leaves_a_consistent_fs(tmp_path):
    img = mke2fs(tmp_path / "fs.img", 2 << 20, 1024)
    v, fs = mounted(img)
    f = v.open(b"/mnt/fill", F.O_CREAT | F.O_WRONLY)
    total = 0
    with pytest.raises(KernelError) as ei:
        while True:
            n = f.write(b"q" * 65536)
            total += n
    assert ei.value.errno == ENOSPC
    f.close()
    assert total > 1 << 20
    with raises(ENOSPC):
        write_file(v, b"/mnt/more", b"x" * 4096)
    fs.unmount()
    assert_clean(img)
    assert dcat(img, "/fill") == b"q" * total
    v, fs = mounted(img)
    v.unlink(b"/mnt/fill")
    write_file(v, b"/mnt/more", b"x" * 4096)
    fs.unmount()
    assert_clean(img)


def test_htree_directory_is_readable_then_writable(tmp_path):
    img = mke2fs(tmp_path / "fs.img", 8 << 20, 1024)
    v, fs = mounted(img)
    v.mkdir(b"/mnt/big")
    names = [b"entry-%04d-%s" % (i, b"x" * (i % 40)) for i in range(400)]
    for n in names:
        write_file(v, b"/mnt/big/" + n, n)
    fs.unmount()
    run("e2fsck", "-fyD", img, check=False)          # builds the hash index
    assert_clean(img)
    assert "Flags: 0x1000" in dstat(img, "/big")      # EXT2_INDEX_FL
    v, fs = mounted(img)
    assert listdir(v, b"/mnt/big") == sorted(names)
    assert read_file(v, b"/mnt/big/" + names[123]) == names[123]
    write_file(v, b"/mnt/big/newcomer", b"new")       # clears the index flag
    v.unlink(b"/mnt/big/" + names[7])
    fs.unmount()
    assert_clean(img)
    assert dcat(img, "/big/newcomer") == b"new"
    assert "Flags: 0x0" in dstat(img, "/big")


def _set_feature(img, offset, bit):
    with open(img, "r+b") as f:
        f.seek(1024 + offset)
        (val,) = struct.unpack("<I", f.read(4))
        f.seek(1024 + offset)
        f.write(struct.pack("<I", val | bit))


def test_unknown_incompat_feature_refused(tmp_path):
    img = mke2fs(tmp_path / "fs.img", 4 << 20, 1024)
    _set_feature(img, 96, 0x01000000)
    with pytest.raises(KernelError) as ei:
        Ext2Fs(img)
    assert ei.value.errno == EINVAL
    assert "INCOMPAT" in str(ei.value) and "0x1000000" in str(ei.value)
    img2 = mke2fs(tmp_path / "mb.img", 4 << 20, 1024, "-O", "meta_bg,^resize_inode")
    with pytest.raises(KernelError, match="meta_bg"):
        Ext2Fs(img2)


def test_unknown_ro_compat_feature_mounts_read_only(tmp_path):
    img = mke2fs(tmp_path / "fs.img", 4 << 20, 1024)
    (tmp_path / "h").write_bytes(b"hello")
    dwrite(img, tmp_path / "h", "h")
    _set_feature(img, 100, 0x40000000)
    digest = hashlib.sha256(open(img, "rb").read()).hexdigest()
    v, fs = mounted(img)
    assert fs.readonly and "read-only" in fs.mount_note and "RO_COMPAT" in fs.mount_note
    assert read_file(v, b"/mnt/h") == b"hello"
    with raises(EROFS):
        v.open(b"/mnt/h", F.O_WRONLY)
    with raises(EROFS):
        v.mkdir(b"/mnt/d")
    with raises(EROFS):
        v.open(b"/mnt/new", F.O_CREAT | F.O_WRONLY)
    with raises(EROFS):
        fs.root.create(b"direct", 0o644)        # the fs refuses too, not only the mount
    fs.unmount()
    assert hashlib.sha256(open(img, "rb").read()).hexdigest() == digest


def test_readonly_mount_and_mount_state(tmp_path):
    img = mke2fs(tmp_path / "fs.img", 4 << 20, 4096)
    digest = hashlib.sha256(open(img, "rb").read()).hexdigest()
    v, fs = mounted(img, readonly=True)
    with raises(EROFS):
        v.mkdir(b"/mnt/x")
    fs.unmount()
    assert hashlib.sha256(open(img, "rb").read()).hexdigest() == digest
    fs = Ext2Fs(img)
    with raises(EBUSY):
        Ext2Fs(img)                                 # one writer at a time
    fs.sync()
    assert sb_field(img, "Filesystem state") == "not clean"
    fs.unmount()
    assert sb_field(img, "Filesystem state") == "clean"
    assert sb_field(img, "Mount count") == "1"     # the read-only mount did not count


def test_not_ext2(tmp_path):
    p = tmp_path / "zeros.img"
    p.write_bytes(bytes(1 << 16))
    with raises(EINVAL):
        Ext2Fs(p)
    p.write_bytes(b"")
    with raises(EINVAL):
        Ext2Fs(p)
    with raises(ENOENT):
        Ext2Fs(tmp_path / "missing.img")


def test_large_file_feature_is_set_when_needed(tmp_path):
    # one group (no backup superblocks); the resize inode is itself a large file
    img = mke2fs(tmp_path / "fs.img", 8 << 20, 4096, "-O", "^resize_inode")
    with open(img, "r+b") as f:                          # mke2fs always sets large_file
        f.seek(1024 + 100)
        (ro,) = struct.unpack("<I", f.read(4))
        f.seek(1024 + 100)
        f.write(struct.pack("<I", ro & ~2))
    assert "large_file" not in sb_field(img, "Filesystem features")
    assert_clean(img)
    v, fs = mounted(img)
    write_file(v, b"/mnt/small", b"s")
    f = v.open(b"/mnt/big", F.O_CREAT | F.O_RDWR)
    f.pwrite(b"x", 5 << 30)
    f.close()
    fs.unmount()
    assert "large_file" in sb_field(img, "Filesystem features")
    assert_clean(img)
    assert f"Size: {(5 << 30) + 1}" in dstat(img, "/big")


def test_many_files_and_inode_cache(tmp_path):
    """Inode objects come and go (weakly cached); the data stays right."""
    import gc
    img = mke2fs(tmp_path / "fs.img", 8 << 20, 1024)
    v, fs = mounted(img)
    v.mkdir(b"/mnt/m")
    for i in range(300):
        write_file(v, b"/mnt/m/%d" % i, b"%d" % i)
    gc.collect()
    for i in range(0, 300, 3):
        v.unlink(b"/mnt/m/%d" % i)
    gc.collect()
    assert len(listdir(v, b"/mnt/m")) == 200
    assert read_file(v, b"/mnt/m/299") == b"299"
    fs.unmount()
    assert_clean(img)
    assert dcat(img, "/m/298") == b"298"
