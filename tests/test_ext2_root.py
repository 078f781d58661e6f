"""An ext2 image as the root filesystem of `akuma run --image`: programs
run from it, files they write are on the image after exit, and e2fsck
finds nothing to fix."""
import shutil
import subprocess

import pytest

import debroot


def _need(tool):
    if not shutil.which(tool):
        pytest.skip(f"{tool} (e2fsprogs) is not installed")


@pytest.fixture(scope="module")
def root():
    try:
        return debroot.sysroot()
    except debroot.Unavailable as e:
        pytest.skip(f"Debian arm64 packages unavailable: {e}")


def _fsck_clean(img):
    cp = subprocess.run(["e2fsck", "-fn", str(img)], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stdout + cp.stderr


def _debugfs_cat(img, path):
    return subprocess.run(["debugfs", "-R", f"cat {path}", str(img)], capture_output=True).stdout


def test_programs_run_from_an_image_and_writes_persist(akuma, root, tmp_path):
    _need("mke2fs")
    _need("e2fsck")
    img = tmp_path / "root.img"
    subprocess.run(["mke2fs", "-q", "-t", "ext2", "-d", str(root), str(img), "32M"], check=True)
    got = akuma("run", "--image", str(img), "-e", "PATH=/bin", "--", "/bin/busybox", "sh", "-c",
                "echo persistent > /hello.txt && mkdir /d && echo x > /d/y && "
                "busybox ln /d/y /d/z && busybox cat /hello.txt")
    assert got.returncode == 0, got.stderr
    assert got.stdout == b"persistent\n"
    _fsck_clean(img)
    assert _debugfs_cat(img, "/hello.txt") == b"persistent\n"
    assert _debugfs_cat(img, "/d/z") == b"x\n"
    # And the next boot sees them.
    again = akuma("run", "--image", str(img), "--", "/bin/busybox", "cat", "/d/y")
    assert again.stdout == b"x\n"
    _fsck_clean(img)


def test_own_mkfs_image_as_root_with_tools_from_a_volume(akuma, root, tmp_path):
    _need("e2fsck")
    from akuma.vfs.ext2 import mkfs
    img = tmp_path / "fresh.img"
    mkfs(str(img), 16 << 20, block_size=1024)
    got = akuma("run", "--image", str(img), "-v", f"{root}:/tools:ro", "-e", "PATH=/tools/bin",
                "--", "/tools/bin/busybox", "sh", "-c",
                "busybox mkdir -p /home/user && busybox seq 1 2000 > /home/user/n && "
                "busybox wc -l < /home/user/n && busybox rm -r /tmp 2>/dev/null; true")
    assert got.returncode == 0, got.stderr
    assert got.stdout == b"2000\n"
    _fsck_clean(img)
    data = _debugfs_cat(img, "/home/user/n")
    assert data == "".join(f"{i}\n" for i in range(1, 2001)).encode()
