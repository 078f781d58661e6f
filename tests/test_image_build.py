"""`akuma image build` and its parts: what the image holds (checked with our
own ext2 reader and e2fsck), hash checking of downloads, one-line errors."""
import hashlib
import os
import shutil
import subprocess

import pytest

import sysimage
from harness import run_akuma, test_env
from akuma.image import ImageError
from akuma.image.apt import Package
from akuma.image.fetch import fetch_all
from akuma.image.writer import ImageWriter
from akuma.vfs.ext2 import Ext2Fs, mkfs


@pytest.fixture(scope="module")
def image():
    return sysimage.cached_image()


def _lookup(fs, path):
    node = fs.root
    for c in path.strip("/").split("/"):
        node = node.lookup(c.encode())
    return node


def _read(fs, path):
    f = _lookup(fs, path)
    return f.read_at(f.size, 0)


def test_image_is_clean_for_e2fsck(image):
    if not shutil.which("e2fsck"):
        pytest.skip("e2fsck (e2fsprogs) is not installed")
    cp = subprocess.run(["e2fsck", "-fn", image], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stdout + cp.stderr


def test_image_layout(image):
    fs = Ext2Fs(image, readonly=True)
    try:
        for d in ("bin", "sbin", "lib"):                       # Debian's merged /usr
            assert _lookup(fs, d).readlink() == b"usr/" + d.encode()
        assert _lookup(fs, "usr/bin/sh").readlink() == b"dash"
        assert _lookup(fs, "usr/sbin/init").readlink() == b"/bin/busybox"
        assert _lookup(fs, "usr/bin/busybox").is_reg
        assert _lookup(fs, "usr/bin/sqlite3").is_reg             # a package's own file
        # Packages win over busybox's applets, as on Debian: coreutils' head
        # and ls are GNU's; applets only fill paths no package provides.
        for path in ("usr/bin/head", "usr/bin/ls", "usr/sbin/chroot"):
            assert _lookup(fs, path).is_reg, path
        assert _lookup(fs, "usr/sbin/ifconfig").readlink() == b"/bin/busybox"
        passwd = _read(fs, "etc/passwd").decode()
        assert passwd.startswith("root:x:0:0:")
        assert "\nuser:x:1000:1000:" in passwd
        for path in ("etc/group", "etc/shadow", "etc/hostname", "etc/hosts", "etc/profile",
                     "etc/os-release", "etc/inittab", "etc/init.d/rcS"):
            assert _read(fs, path)
        assert b"Akuma" in _read(fs, "etc/motd") or b"/_/" in _read(fs, "etc/motd")
        assert _read(fs, "etc/resolv.conf") == b"nameserver 10.0.2.3\n"
        assert _lookup(fs, "etc/shadow").mode & 0o777 == 0o640
        assert _lookup(fs, "home/user").uid == 1000
        assert _lookup(fs, "root").mode & 0o777 == 0o700
        assert _lookup(fs, "tmp").mode & 0o7777 == 0o1777
        for d in ("proc", "dev", "sys"):
            assert _lookup(fs, d).is_dir
        assert len(_lookup(fs, "usr/bin").entries()) > 100
    finally:
        fs.unmount()


def test_writer_follows_merged_usr(tmp_path):
    img = tmp_path / "w.img"
    mkfs(str(img), 32 << 20)
    w = ImageWriter(str(img))
    w.mkdir("usr/bin")
    w.fs.root.symlink(b"bin", b"usr/bin")
    w.write("bin/tool", b"#!/bin/sh\n", 0o4755)
    w.hardlink("usr/bin/tool2", "/bin/tool")
    w.write("bin/tool", b"replaced\n", 0o755)            # a later package wins
    w.close()
    fs = Ext2Fs(str(img), readonly=True)
    try:
        tool = _lookup(fs, "usr/bin/tool")
        assert tool.read_at(100, 0) == b"replaced\n" and tool.mode & 0o7777 == 0o755
        old = _lookup(fs, "usr/bin/tool2")
        assert old.read_at(100, 0) == b"#!/bin/sh\n" and old.mode & 0o7777 == 0o4755
    finally:
        fs.unmount()


def _pkg(tmp_path, data, sha):
    src = tmp_path / "src" / "p_1_arm64.deb"
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(data)
    return Package("p", "1", "arm64", src.as_uri(), "p_1_arm64.deb", len(data), sha)


def test_download_is_checked_against_the_index_hash(tmp_path):
    data = b"!<arch>\nnot really a package"
    good = _pkg(tmp_path, data, hashlib.sha256(data).hexdigest())
    debs = tmp_path / "debs"
    assert open(fetch_all([good], debs)["p"], "rb").read() == data
    # A damaged cache entry is fetched again.
    (debs / "p_1_arm64.deb").write_bytes(b"garbage")
    assert open(fetch_all([good], debs)["p"], "rb").read() == data
    bad = _pkg(tmp_path, data, "0" * 64)
    (debs / "p_1_arm64.deb").unlink()
    with pytest.raises(ImageError, match="SHA256 mismatch"):
        fetch_all([bad], debs)
    assert not (debs / "p_1_arm64.deb").exists()


def test_unreachable_archive_is_one_line(tmp_path):
    if not shutil.which("apt-get"):
        pytest.skip("apt-get is not installed")
    sources = tmp_path / "sources.list"
    sources.write_text("deb [trusted=yes] http://127.0.0.1:9/debian bookworm main\n")
    env = test_env(XDG_CACHE_HOME=str(tmp_path / "cache"), AKUMA_APT_SOURCES=str(sources))
    got = run_akuma("image", "build", "-q", "-o", str(tmp_path / "x.img"),
                    "--packages", "dash", env=env)
    err = got.stderr.decode()
    assert got.returncode == 1, err
    assert err.startswith("akuma: image build failed: no Debian archive reachable"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not os.path.exists(tmp_path / "x.img")
