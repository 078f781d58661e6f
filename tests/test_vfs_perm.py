"""Permission checks for non-root callers (vfs/perm.py and the walk, open,
create/delete and exec paths): a guest program sets up files as root, then
a uid-1000 child tries every kind of access.  Its lines must equal Linux's
(qemu-aarch64-static on a host tmpfs directory) on each filesystem that
stores owners: a hostfs volume, the memfs /tmp, an ext2 root image."""
import os
import shutil
import subprocess
import tempfile

import pytest

from harness import run_akuma, test_env


@pytest.fixture
def linux(guest, qemu):
    exe = guest("vfs_perm")
    d = tempfile.mkdtemp(prefix="akuma-perm-", dir="/dev/shm" if os.path.isdir("/dev/shm")
                         else "/tmp")
    os.chmod(d, 0o755)
    try:
        ref = qemu(exe, d, env=test_env())
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert ref.returncode == 0, ref.stderr
    lines = ref.stdout.decode().splitlines()
    if "child: 3" in lines:
        pytest.skip("the host refuses setuid for qemu's child (not running as root)")
    return exe, lines


def test_hostfs_volume(linux, tmp_path):
    exe, ref = linux
    os.chmod(tmp_path, 0o755)
    got = run_akuma("run", "-v", f"{tmp_path}:/data", "--", exe, "/data")
    assert got.returncode == 0, got.stderr
    assert got.stdout.decode().splitlines() == ref


def test_memfs_tmp(linux):
    exe, ref = linux
    got = run_akuma("run", "--", exe, "/tmp")
    assert got.returncode == 0, got.stderr
    assert got.stdout.decode().splitlines() == ref


def test_ext2_root(linux, tmp_path):
    if not shutil.which("mke2fs") or not shutil.which("e2fsck"):
        pytest.skip("e2fsprogs is not installed")
    exe, ref = linux
    src = tmp_path / "src"
    (src / "w").mkdir(parents=True)
    os.chmod(src / "w", 0o755)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy(exe, bindir / "vfs_perm")
    img = tmp_path / "r.img"
    subprocess.run(["mke2fs", "-q", "-t", "ext2", "-d", str(src), str(img), "16M"], check=True,
                   capture_output=True)
    got = run_akuma("run", "--image", str(img), "-v", f"{bindir}:/t:ro", "--", "/t/vfs_perm",
                    "/w")
    assert got.returncode == 0, got.stderr
    assert got.stdout.decode().splitlines() == ref
    fsck = subprocess.run(["e2fsck", "-fn", str(img)], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout
