"""Shared helpers of the ext2 tests: e2fsprogs as the reference (mke2fs makes
images, debugfs reads and writes them, e2fsck -fn judges them).  No tests
here; the ext2 test modules skip when e2fsprogs is missing."""
import os
import shutil
import subprocess

import pytest

from akuma.abi import fcntl as F
from akuma.abi import stat as st
from akuma.vfs.ext2 import fs as ext2fs

TOOLS = ("mke2fs", "e2fsck", "debugfs", "dumpe2fs")
HAVE_E2FSPROGS = all(shutil.which(t) or os.path.exists(f"/sbin/{t}") or
                     os.path.exists(f"/usr/sbin/{t}") for t in TOOLS)
needs_e2fsprogs = pytest.mark.skipif(
    not HAVE_E2FSPROGS,
    reason="e2fsprogs (mke2fs, e2fsck, debugfs, dumpe2fs) not installed: "
           "apt-get install -y e2fsprogs")

ENV = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/sbin:/usr/sbin")

# Tests see every stray exception instead of its EIO wrapping.
ext2fs.STRICT = True


def run(*cmd, check=True, input=None):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, env=ENV, input=input)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} failed ({r.returncode}):\n{r.stdout.decode()}"
                             f"\n{r.stderr.decode()}")
    return r


def mke2fs(path, size, bs=1024, *opts):
    run("mke2fs", "-q", "-F", "-t", "ext2", "-b", bs, *opts, path, f"{size // 1024}k")
    return path


def fsck(path):
    """(exit code, output) of e2fsck -fn."""
    r = run("e2fsck", "-fn", path, check=False)
    return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def assert_clean(path):
    rc, out = fsck(path)
    assert rc == 0, out


def dcat(img, path):
    return run("debugfs", "-R", f"cat {path}", img).stdout


def dstat(img, path):
    return run("debugfs", "-R", f"stat {path}", img).stdout.decode(errors="replace")


def dwrite(img, host, name):
    r = run("debugfs", "-w", "-R", f"write {host} {name}", img)
    assert b"Allocated inode" in r.stdout or r.returncode == 0


def debugfs_cmds(img, cmds):
    return run("debugfs", "-w", "-f", "-", img, input="\n".join(cmds).encode() + b"\n")


def sb_field(img, name):
    """A 'dumpe2fs -h' field ('Filesystem state', 'Mount count', ...)."""
    out = run("dumpe2fs", "-h", img).stdout.decode(errors="replace")
    for line in out.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(name)


def write_file(vfs, path, data, flags=F.O_CREAT | F.O_WRONLY | F.O_TRUNC):
    f = vfs.open(path, flags)
    try:
        assert f.write(data) == len(data)
    finally:
        f.close()


def read_file(vfs, path, n=1 << 30):
    f = vfs.open(path, F.O_RDONLY)
    try:
        out = bytearray()
        while len(out) < n:
            chunk = f.read(min(1 << 20, n - len(out)))
            if not chunk:
                break
            out += chunk
        return bytes(out)
    finally:
        f.close()


def listdir(vfs, path):
    f = vfs.open(path, F.O_RDONLY | F.O_DIRECTORY)
    try:
        return sorted(n for _ino, _t, n in f.getdents() if n not in (b".", b".."))
    finally:
        f.close()


def walk_tree(vfs, top, limit=1 << 20):
    """{relative path: bytes | 'dir' | ('link', target) | ...} of the tree under
    ``top``; files past ``limit`` bytes: ('big', size, first bytes)."""
    out = {}

    def rec(path, rel):
        for name in listdir(vfs, path):
            p, r = path + b"/" + name, rel + b"/" + name
            s = vfs.stat(p, follow=False)
            kind = s.mode & st.S_IFMT
            if kind == st.S_IFDIR:
                out[r] = "dir"
                rec(p, r)
            elif kind == st.S_IFLNK:
                out[r] = ("link", vfs.readlink(p))
            elif kind == st.S_IFREG:
                out[r] = read_file(vfs, p, limit) if s.size <= limit else \
                    ("big", s.size, read_file(vfs, p, limit))
            else:
                out[r] = ("node", kind, s.rdev)
    rec(top, b"")
    return out
