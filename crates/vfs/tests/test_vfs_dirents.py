"""getdents continuation and linux_dirent64 packing."""
import struct

from akuma.abi import fcntl as F
from akuma.abi.errors import EINVAL, ENOTDIR
from akuma.vfs import DT_DIR, DT_LNK, DT_REG, DT_CHR, DT_FIFO, Vfs, pack_dirents

from vfs_helpers import raises


def parse(data):
    out, off = [], 0
    while off < len(data):
        ino, doff, reclen, typ = struct.unpack_from("<QqHB", data, off)
        name = data[off + 19:off + reclen].split(b"\0")[0]
        assert reclen % 8 == 0
        out.append((ino, doff, typ, name))
        off += reclen
    assert off == len(data)
    return out


def test_constants():
    assert (DT_REG, DT_DIR, DT_LNK, DT_CHR, DT_FIFO) == (8, 4, 10, 2, 1)


def test_pack_alignment():
    ents = [(1, DT_DIR, b"."), (2, DT_DIR, b".."), (3, DT_REG, b"abcde"),
            (4, DT_REG, b"x" * 13)]
    data, n = pack_dirents(ents, 4096)
    assert n == 4
    recs = parse(data)
    assert [r[3] for r in recs] == [b".", b"..", b"abcde", b"x" * 13]
    assert [r[1] for r in recs] == [1, 2, 3, 4]
    # 19-byte header + name + NUL, rounded up to 8
    assert struct.unpack_from("<H", data, 16)[0] == 24          # "."
    assert len(data) == 24 + 24 + 32 + 40
    # stops before overflowing
    data, n = pack_dirents(ents, 24 + 24 + 31)
    assert n == 2 and len(data) == 48
    data, n = pack_dirents(ents, 10)
    assert (data, n) == (b"", 0)
    data, n = pack_dirents(ents[2:], 100, base_off=7)
    assert [r[1] for r in parse(data)] == [8, 9]


def test_getdents_continuation_200():
    v = Vfs()
    v.mkdir(b"/big")
    names = {b"file-%03d" % i for i in range(200)}
    for nm in names:
        v.open(b"/big/" + nm, F.O_CREAT | F.O_WRONLY)
    f = v.open(b"/big", F.O_RDONLY | F.O_DIRECTORY)
    seen, calls = [], 0
    while True:
        data = f.getdents64(128)
        if not data:
            break
        calls += 1
        seen += parse(data)
    assert calls > 20
    got = [r[3] for r in seen]
    assert got[:2] == [b".", b".."] and len(got) == 202
    assert set(got[2:]) == names
    assert all(r[2] == DT_REG for r in seen[2:])
    assert [r[1] for r in seen] == list(range(1, 203))     # d_off = next position
    assert f.getdents64(128) == b""
    # seekdir to a d_off resumes there; rewinding restarts
    f.lseek(seen[99][1], F.SEEK_SET)
    assert parse(f.getdents64(64))[0][3] == got[100]
    f.lseek(0, F.SEEK_SET)
    assert parse(f.getdents64(4096))[0][3] == b"."
    # the kernel's two-step protocol
    f.lseek(0, F.SEEK_SET)
    ents = f.getdents()
    data, n = pack_dirents(ents, 200)
    f.consume_dirents(n)
    assert f.getdents()[0] == ents[n]


def test_getdents_errors():
    v = Vfs()
    v.mkdir(b"/d")
    v.open(b"/d/" + b"n" * 200, F.O_CREAT | F.O_WRONLY)
    f = v.open(b"/d", F.O_RDONLY)
    f.getdents64(48)                     # . and ..
    with raises(EINVAL):
        f.getdents64(100)                # the long name does not fit
    g = v.open(b"/d/" + b"n" * 200, F.O_RDONLY)
    with raises(ENOTDIR):
        g.getdents()


def test_types_and_inos():
    v = Vfs()
    v.mkdir(b"/d")
    v.mkdir(b"/d/sub")
    v.symlink(b"x", b"/d/ln")
    v.open(b"/d/reg", F.O_CREAT | F.O_WRONLY)
    ents = {n: (i, t) for i, t, n in v.open(b"/d", 0).getdents()}
    assert ents[b"sub"] == (v.stat(b"/d/sub").ino, DT_DIR)
    assert ents[b"ln"][1] == DT_LNK and ents[b"reg"][1] == DT_REG
    assert ents[b"."][0] == v.stat(b"/d").ino and ents[b".."][0] == v.stat(b"/").ino
