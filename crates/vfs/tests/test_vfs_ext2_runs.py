"""ext2's fast paths: whole-block runs (contiguous allocation, one host write
or read per run, batch freeing on truncate) and the per-directory entry
index (lookup/create/unlink/rename touch one block).  Random large writes,
reads, truncates and many-entry directories against a model; the image must
stay e2fsck-clean and read back identically with debugfs."""
import os
import random

import pytest

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi.errors import ENOENT
from akuma.vfs import Vfs
from akuma.vfs.ext2 import Ext2Fs

from test_vfs_ext2_helpers import assert_clean, dcat, listdir, mke2fs, needs_e2fsprogs

pytestmark = needs_e2fsprogs


@pytest.mark.parametrize("bs", [1024, 4096])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_large_writes_reads_truncates(tmp_path, bs, seed):
    rnd = random.Random(seed)
    img = str(mke2fs(tmp_path / "fs.img", 48 << 20, bs))
    v = Vfs()
    fs = Ext2Fs(img)
    v.mount(b"/mnt", fs)
    files = {b"/mnt/a": bytearray(), b"/mnt/b": bytearray()}
    for p in files:
        v.open(p, F.O_CREAT | F.O_WRONLY).close()
    limit = 300 * bs + 12 * bs                   # past the single-indirect range
    for _ in range(60):
        p = rnd.choice(list(files))
        model = files[p]
        what = rnd.random()
        if what < 0.55:
            off = rnd.choice([0, rnd.randrange(limit), rnd.randrange(limit) // bs * bs])
            n = rnd.choice([1, bs, 2 * bs, rnd.randrange(1, 40 * bs), rnd.randrange(1, 300 * bs)])
            data = rnd.randbytes(n)
            f = v.open(p, F.O_WRONLY)
            try:
                assert f.pwrite(data, off) == n
            finally:
                f.close()
            if len(model) < off:
                model.extend(bytes(off - len(model)))
            model[off:off + n] = data
        elif what < 0.75:
            n = rnd.choice([0, rnd.randrange(limit), rnd.randrange(limit) // bs * bs])
            v.truncate(p, n)
            del model[n:]
            model.extend(bytes(n - len(model)))
        else:
            off = rnd.randrange(len(model) + bs)
            n = rnd.randrange(1, 100 * bs)
            f = v.open(p, F.O_RDONLY)
            try:
                assert f.pread(n, off) == bytes(model[off:off + n])
                buf = bytearray(n)
                got = f.inode.readinto_at([memoryview(buf)], off)
                assert bytes(buf[:got]) == bytes(model[off:off + n])
            finally:
                f.close()
    fs.unmount()
    assert_clean(img)
    for p, model in files.items():
        assert dcat(img, p[len(b"/mnt"):].decode()) == bytes(model)


@pytest.mark.parametrize("bs", [1024, 4096])
def test_big_directory(tmp_path, bs):
    rnd = random.Random(bs)
    img = str(mke2fs(tmp_path / "fs.img", 16 << 20, bs))
    v = Vfs()
    fs = Ext2Fs(img)
    v.mount(b"/mnt", fs)
    v.mkdir(b"/mnt/d")
    v.mkdir(b"/mnt/e")
    names = {}
    for i in range(1500):
        name = b"f%d" % i + b"x" * rnd.randrange(0, 60)
        v.open(b"/mnt/d/" + name, F.O_CREAT | F.O_WRONLY).close()
        names[name] = b"d"
    for _ in range(3000):
        name = rnd.choice(list(names))
        where = names[name]
        r = rnd.random()
        if r < 0.3:
            v.unlink(b"/mnt/%s/%s" % (where, name))
            del names[name]
        elif r < 0.5:
            other = b"e" if where == b"d" else b"d"
            v.rename(b"/mnt/%s/%s" % (where, name), b"/mnt/%s/%s" % (other, name))
            names[name] = other
        elif r < 0.6 and len(names) > 1:
            victim = rnd.choice(list(names))       # rename over an existing name
            if victim != name:
                v.rename(b"/mnt/%s/%s" % (where, name), b"/mnt/%s/%s" % (names[victim], victim))
                del names[name]
        else:
            new = b"g%d" % rnd.randrange(10 ** 6) + b"y" * rnd.randrange(0, 100)
            if new not in names:
                v.open(b"/mnt/%s/%s" % (where, new), F.O_CREAT | F.O_WRONLY).close()
                names[new] = where
        if rnd.random() < 0.01:
            for inode in list(fs._icache.values()):  # the index is rebuilt from disk
                if inode.is_dir and not inode.dead:
                    inode._dents = None
    for d in (b"d", b"e"):
        want = sorted(n for n, w in names.items() if w == d)
        assert sorted(listdir(v, b"/mnt/" + d)) == want
        for n in want[:50]:
            v.stat(b"/mnt/%s/%s" % (d, n))
    with pytest.raises(KernelError) as e:
        v.stat(b"/mnt/d/nonexistent")
    assert e.value.errno == ENOENT
    fs.unmount()
    assert_clean(img)
    v = Vfs()
    fs = Ext2Fs(img, readonly=True)
    v.mount(b"/mnt", fs)
    for d in (b"d", b"e"):
        assert sorted(listdir(v, b"/mnt/" + d)) == sorted(n for n, w in names.items() if w == d)
    fs.unmount()
    os.unlink(img)
