"""ext2 against a model: random create/write/truncate/unlink/mkdir/rmdir/rename
sequences give the same results (data and errno) as a dict model, and the
image stays e2fsck-clean."""
import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi.errors import EINVAL, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, EEXIST
from akuma.vfs import Vfs
from akuma.vfs.ext2 import Ext2Fs

from test_vfs_ext2_helpers import assert_clean, mke2fs, needs_e2fsprogs, walk_tree

pytestmark = needs_e2fsprogs

NAMES = [b"a", b"b", b"c"]
PATHS = [b"/" + x for x in NAMES] + [b"/%s/%s" % (x, y) for x in NAMES for y in NAMES[:2]]


class Model:
    def __init__(self):
        self.files = {}
        self.dirs = {b""}

    @staticmethod
    def parent(p):
        return p.rpartition(b"/")[0]

    def _walk_parent(self, p):
        """errno of walking to the parent directory of ``p``, or None."""
        parts = p.split(b"/")[1:-1]
        cur = b""
        for x in parts:
            cur += b"/" + x
            if cur in self.files:
                return ENOTDIR
            if cur not in self.dirs:
                return ENOENT
        return None

    def exists(self, p):
        return p in self.files or p in self.dirs

    def children(self, d):
        return [p for p in list(self.files) + list(self.dirs)
                if p and self.parent(p) == d]

    def create(self, p, data):
        e = self._walk_parent(p)
        if e:
            return e
        if p in self.dirs:
            return EISDIR
        self.files[p] = bytearray(data)

    def write(self, p, off, data):
        e = self._walk_parent(p)
        if e:
            return e
        if p in self.dirs:
            return EISDIR
        if p not in self.files:
            return ENOENT
        f = self.files[p]
        if not data:
            return None               # a zero-length pwrite changes nothing
        if off > len(f):
            f.extend(bytes(off - len(f)))
        f[off:off + len(data)] = data

    def truncate(self, p, n):
        e = self._walk_parent(p)
        if e:
            return e
        if p in self.dirs:
            return EISDIR
        if p not in self.files:
            return ENOENT
        f = self.files[p]
        if n < len(f):
            del f[n:]
        else:
            f.extend(bytes(n - len(f)))

    def unlink(self, p):
        e = self._walk_parent(p)
        if e:
            return e
        if p in self.dirs:
            return EISDIR
        if p not in self.files:
            return ENOENT
        del self.files[p]

    def mkdir(self, p):
        e = self._walk_parent(p)
        if e:
            return e
        if self.exists(p):
            return EEXIST
        self.dirs.add(p)

    def rmdir(self, p):
        e = self._walk_parent(p)
        if e:
            return e
        if p in self.files:
            return ENOTDIR
        if p not in self.dirs:
            return ENOENT
        if self.children(p):
            return ENOTEMPTY
        self.dirs.remove(p)

    def rename(self, a, b):
        e = self._walk_parent(a) or self._walk_parent(b)
        if e:
            return e
        if not self.exists(a):
            return ENOENT
        if a == b:
            return None
        a_dir = a in self.dirs
        if self.exists(b):
            if a_dir and b in self.files:
                return ENOTDIR
            if not a_dir and b in self.dirs:
                return EISDIR
        if a_dir and (b + b"/").startswith(a + b"/"):
            return EINVAL
        if b in self.dirs and self.children(b):
            return ENOTEMPTY
        if a_dir:
            self.dirs.discard(b)
            for p in sorted(self.dirs):
                if p == a or p.startswith(a + b"/"):
                    self.dirs.remove(p)
                    self.dirs.add(b + p[len(a):])
            for p in list(self.files):
                if p.startswith(a + b"/"):
                    self.files[b + p[len(a):]] = self.files.pop(p)
        else:
            self.files[b] = self.files.pop(a)

    def tree(self):
        out = {p: bytes(d) for p, d in self.files.items()}
        out.update({p: "dir" for p in self.dirs if p})
        return out


def apply(v, op):
    name, args = op[0], op[1:]
    m = b"/mnt"
    if name == "create":
        p, data = args
        f = v.open(m + p, F.O_CREAT | F.O_WRONLY | F.O_TRUNC)
        try:
            f.write(data)
        finally:
            f.close()
    elif name == "write":
        p, off, data = args
        f = v.open(m + p, F.O_WRONLY)
        try:
            f.pwrite(data, off)
        finally:
            f.close()
    elif name == "truncate":
        v.truncate(m + args[0], args[1])
    elif name == "unlink":
        v.unlink(m + args[0])
    elif name == "mkdir":
        v.mkdir(m + args[0])
    elif name == "rmdir":
        v.rmdir(m + args[0])
    elif name == "rename":
        v.rename(m + args[0], m + args[1])


paths = hs.sampled_from(PATHS)
data = hs.one_of(hs.binary(max_size=40),
                 hs.builds(lambda c, n: c * n, hs.binary(min_size=1, max_size=3),
                           hs.integers(0, 7000)))
offsets = hs.one_of(hs.integers(0, 3000), hs.integers(0, 400_000))
ops = hs.one_of(
    hs.tuples(hs.just("create"), paths, data),
    hs.tuples(hs.just("write"), paths, offsets, data),
    hs.tuples(hs.just("truncate"), paths, offsets),
    hs.tuples(hs.just("unlink"), paths),
    hs.tuples(hs.just("mkdir"), paths),
    hs.tuples(hs.just("rmdir"), paths),
    hs.tuples(hs.just("rename"), paths, paths),
)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    d = tmp_path_factory.mktemp("ext2model")
    return {bs: str(mke2fs(d / f"t{bs}.img", 8 << 20, bs)) for bs in (1024, 4096)}


@settings(max_examples=int(os.environ.get("EXT2_EXAMPLES", "100")), deadline=None, suppress_health_check=list(HealthCheck))
@given(bs=hs.sampled_from([1024, 4096]), seq=hs.lists(ops, max_size=30))
def test_ext2_matches_model(template, tmp_path_factory, bs, seq):
    img = str(tmp_path_factory.mktemp("m") / "fs.img")
    shutil.copyfile(template[bs], img)
    v = Vfs()
    fs = Ext2Fs(img)
    v.mount(b"/mnt", fs)
    model = Model()
    for op in seq:
        want = getattr(model, op[0])(*op[1:])
        try:
            apply(v, op)
            got = None
        except KernelError as e:
            got = e.errno
        assert got == want, (op, got, want)
    expect = model.tree()
    expect[b"/lost+found"] = "dir"
    assert walk_tree(v, b"/mnt") == expect
    fs.unmount()
    assert_clean(img)
    v = Vfs()
    fs = Ext2Fs(img, readonly=True)
    v.mount(b"/mnt", fs)
    assert walk_tree(v, b"/mnt") == expect
    fs.unmount()
    os.unlink(img)
