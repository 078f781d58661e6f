"""ext2 on damaged images: random bytes of the superblock, the group
descriptors, the inode table, directory and indirect blocks are changed;
mounting, walking the whole tree and writing to it either work or fail with
KernelError — never another exception, never a hang (a timer per case), and
the image file never changes size."""
import os
import random
import re
import signal

import pytest

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi import stat as st
from akuma.vfs import Vfs
from akuma.vfs.ext2 import Ext2Fs

from test_vfs_ext2_helpers import debugfs_cmds, dstat, mke2fs, needs_e2fsprogs, run

pytestmark = needs_e2fsprogs

CASES = int(os.environ.get("EXT2_FUZZ_CASES", "300"))
TIMEOUT = 5.0


class Hang(BaseException):
    """Not an Exception: nothing in the driver may swallow it."""


def _blocks_of(img, path):
    out = dstat(img, path)
    return [int(x) for x in re.findall(r"(?:\(\S+\)|\d+):(\d+)", out.split("BLOCKS:")[-1])]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    d = tmp_path_factory.mktemp("ext2fuzz")
    img = mke2fs(d / "t.img", 2 << 20, 1024)
    (d / "big").write_bytes(os.urandom(300 * 1024))
    (d / "small").write_bytes(b"small file\n" * 10)
    debugfs_cmds(img, [
        "mkdir dir", "mkdir dir/sub", f"write {d / 'big'} big", f"write {d / 'small'} dir/s",
        f"write {d / 'small'} dir/sub/t", "symlink dir/fast /dir/s",
        "symlink slow /" + "x" * 120, "ln dir/s dir/hard",
        "sif dir/hard links_count 2", "mkdir dir/sub/deep", "cd dir", "mknod fifo p",
        "mknod null c 1 3", "cd /",
    ])
    data = open(img, "rb").read()
    bs = 1024
    itable = int(re.search(r"Inode table at (\d+)",
                           run("dumpe2fs", img).stdout.decode()).group(1))
    regions = {
        "superblock": [(1024, 1024)],
        "gdt": [(2 * bs, 64)],
        "itable": [(itable * bs, 4 * bs)],
        "dirs": [(b * bs, bs) for p in ("/", "/dir", "/dir/sub") for b in _blocks_of(img, p)],
        "indirect": [(b * bs, bs) for b in _blocks_of(img, "/big")[12:13]] +
                    [(b * bs, 64) for b in _blocks_of(img, "/big")[-4:]],
    }
    return data, regions


def _mutate(rng, data, regions):
    buf = bytearray(data)
    kind = rng.choice(sorted(regions))
    for _ in range(rng.randint(1, 6)):
        start, length = rng.choice(regions[kind])
        pos = start + rng.randrange(length)
        how = rng.random()
        if how < 0.4:
            buf[pos] ^= 1 << rng.randrange(8)
        elif how < 0.7:
            buf[pos] = rng.randrange(256)
        else:                                   # a whole little-endian word
            pos &= ~3
            buf[pos:pos + 4] = rng.choice([b"\xff\xff\xff\xff", b"\0\0\0\0",
                                           os.urandom(4), (2).to_bytes(4, "little"),
                                           rng.randrange(1 << 12).to_bytes(4, "little")])
    return kind, bytes(buf)


def _try(fn, *args):
    try:
        return fn(*args)
    except KernelError:
        return None


def _exercise(img):
    try:
        fs = Ext2Fs(img)
    except KernelError:
        return "refused"
    try:
        v = Vfs()
        v.mount(b"/mnt", fs)
        seen = set()
        files, dirs = [], []

        def walk(path, depth):
            inode = _try(v.lookup, path)
            if inode is None or inode.key in seen or depth > 20:
                return
            seen.add(inode.key)
            dirs.append(path)
            f = _try(v.open, path, F.O_RDONLY | F.O_DIRECTORY)
            if f is None:
                return
            ents = _try(f.getdents) or []
            f.close()
            for _ino, _t, name in ents[:200]:
                if name in (b".", b".."):
                    continue
                p = path + b"/" + name
                s = _try(v.stat, p, b"/", False)
                if s is None:
                    continue
                kind = s.mode & st.S_IFMT
                if kind == st.S_IFDIR:
                    walk(p, depth + 1)
                elif kind == st.S_IFLNK:
                    _try(v.readlink, p)
                    _try(v.stat, p)
                elif kind == st.S_IFREG:
                    files.append(p)
                    g = _try(v.open, p, F.O_RDONLY)
                    if g is not None:
                        _try(g.pread, 65536, 0)
                        _try(g.pread, 4096, max(0, s.size - 4096))
                        g.close()
        walk(b"/mnt", 0)
        _try(v.lookup, b"/mnt/dir/sub/..")
        for d in dirs[:4]:
            g = _try(v.open, d + b"/new", F.O_CREAT | F.O_RDWR)
            if g is not None:
                _try(g.write, b"n" * 3000)
                _try(g.pwrite, b"far", 300_000)
                g.close()
            _try(v.truncate, d + b"/new", 10)
            _try(v.unlink, d + b"/new")
            _try(v.mkdir, d + b"/nd")
            _try(v.rename, d + b"/nd", b"/mnt/moved")
            _try(v.rmdir, b"/mnt/moved")
            _try(v.symlink, b"t" * 90, d + b"/sl")
        for p in files[:4]:
            _try(v.truncate, p, 5000)
            _try(v.link, p, p + b".l")
            _try(v.unlink, p)
        _try(v.rename, b"/mnt/dir", b"/mnt/dir/sub/x")
        _try(v.rename, b"/mnt/dir/sub", b"/mnt/sub2")
        _try(fs.sync)
        return "mounted"
    finally:
        _try(fs.unmount)


def _alarm(signum, frame):
    raise Hang()


def test_damaged_images_fail_cleanly(template, tmp_path):
    data, regions = template
    img = tmp_path / "case.img"
    old = signal.signal(signal.SIGALRM, _alarm)
    outcomes = {}
    try:
        for case in range(CASES):
            rng = random.Random(case)
            kind, mutated = _mutate(rng, data, regions)
            img.write_bytes(mutated)
            signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
            try:
                result = _exercise(img)
            except Hang:
                pytest.fail(f"case {case} ({kind}): no result after {TIMEOUT} s")
            except Exception as e:                      # noqa: BLE001
                raise AssertionError(f"case {case} ({kind}): {type(e).__name__}: {e}") from e
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            assert img.stat().st_size == len(data), f"case {case} ({kind}) resized the image"
            outcomes[(kind, result)] = outcomes.get((kind, result), 0) + 1
    finally:
        signal.signal(signal.SIGALRM, old)
    # the fuzzing reached both outcomes
    assert any(r == "refused" for _k, r in outcomes)
    assert any(r == "mounted" for _k, r in outcomes)


def test_the_undamaged_template_works(template, tmp_path):
    data, _ = template
    img = tmp_path / "ok.img"
    img.write_bytes(data)
    assert _exercise(img) == "mounted"
