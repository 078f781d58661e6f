"""Loop devices (akuma.kernel.loopdev): /dev/loop-control and /dev/loopN
ioctls with Linux's errnos, mount(2) of a bound device, autoclear at umount
and last close (guest program; the expected lines are Linux 6.x answers,
written out as a loop device can't be set up under qemu-user), then busybox
`mount -o loop`, plain `mount img dir` and losetup on an image that
e2fsck -fn and debugfs check afterwards on the host."""
import shutil
import subprocess

import pytest

import debroot
from harness import run_akuma

LINUX = [
    "open loop-control: OK",
    "add 5 (exists at boot): EEXIST",
    "add 9: OK",
    "add 9 again: EEXIST",
    "stat loop9: OK",
    "loop9 is blk 7,9: 1",
    "open loop9: OK",
    "unbound get status: ENXIO",
    "unbound clr fd: ENXIO",
    "unbound set status: ENXIO",
    "mount unbound: EINVAL",
    "set fd bad fd: EBADF",
    "set fd: OK",
    "set fd again: EBUSY",
    "remove bound: EBUSY",
    "set status: OK",
    "get status: OK",
    "number=9 name=image-name offset=0",
    "inode matches: 1",
    "BLKGETSIZE64: OK",
    "size matches: 1",
    "magic: ext2",
    "mount loop9: OK",
    "clr fd while mounted: OK",
    "get status after clr: OK",
    "umount: OK",
    "freed by umount: ENXIO",
    "get free: 0",
    "remove 9: OK",
    "remove 9 again: ENODEV",
    "stat loop9 after remove: ENOENT",
    "configure ro: OK",
    "flags ro|autoclear: 1",
    "mount ro device rw: EACCES",
    "mount ro device ro: OK",
    "cat hello: via loop9",
    "umount ro: OK",
    "still bound (open): OK",
    "autoclear at last close: ENXIO",
    "unknown ioctl: EINVAL",
    "unknown control ioctl: Function not implemented",
]

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("mke2fs", "e2fsck", "debugfs")),
    reason="e2fsprogs is not installed")


def _image(path):
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", str(path), "4M"], check=True,
                   capture_output=True)
    return path


def _check(img, path, want):
    fsck = subprocess.run(["e2fsck", "-fn", str(img)], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout
    cat = subprocess.run(["debugfs", "-R", f"cat {path}", str(img)], capture_output=True)
    assert cat.stdout == want


def test_loop_ioctls_answer_as_linux(guest, tmp_path):
    exe = guest("vfs_loop")
    _image(tmp_path / "t.img")
    (tmp_path / "m").mkdir()
    got = run_akuma("run", "-v", f"{tmp_path}:/w", "--", exe, "/w/t.img", "/w/m")
    assert got.returncode == 0, got.stderr
    assert got.stdout.decode().splitlines() == LINUX
    _check(tmp_path / "t.img", "/hello", b"via loop9\n")


@pytest.fixture(scope="module")
def bbroot():
    try:
        return debroot.sysroot()
    except debroot.Unavailable as e:
        pytest.skip(f"Debian arm64 packages unavailable: {e}")


def test_busybox_mount_loop(bbroot, tmp_path):
    _image(tmp_path / "t.img")
    (tmp_path / "m").mkdir()
    script = (
        "mount -o loop /w/t.img /w/m; echo mount=$?; grep ' /w/m ' /proc/mounts; "
        "echo hello loop > /w/m/file; mkdir /w/m/d && echo x > /w/m/d/y; "
        "losetup -a; umount /w/m; echo umount=$?; losetup -a; echo freed; "
        "mount /w/t.img /w/m; echo plain=$?; cat /w/m/file; umount /w/m; "
        "losetup /dev/loop1 /w/t.img; echo setup=$?; losetup -a; "
        "mount -t ext2 /dev/loop1 /w/m; echo dev=$?; echo again >> /w/m/file; "
        "umount /w/m; losetup -d /dev/loop1; echo detach=$?; "
        "losetup -d /dev/loop1 2>/dev/null; echo detach2=$?; losetup -a; losetup -f")
    got = run_akuma("run", "-v", f"{tmp_path}:/w", "-e", "PATH=/bin", "--",
                    str(bbroot / "bin/busybox"), "sh", "-c", script)
    assert got.stdout.decode().splitlines() == [
        "mount=0",
        "/dev/loop0 /w/m ext2 rw,relatime 0 0",
        "/dev/loop0: 0 /w/t.img",
        "umount=0",
        "freed",
        "plain=0",
        "hello loop",
        "setup=0",
        "/dev/loop1: 0 /w/t.img",
        "dev=0",
        "detach=0",
        "detach2=1",
        "/dev/loop0",
    ], got.stderr
    _check(tmp_path / "t.img", "/file", b"hello loop\nagain\n")
    _check(tmp_path / "t.img", "/d/y", b"x\n")
