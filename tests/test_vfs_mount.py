"""mount(2)/umount2(2) (syscalls/mount.py, vfs/mountops.py): a guest program
walks through new mounts, binds, remounts, busy and lazy unmounts and every
refusal; the expected lines are Linux's answers (mounting from qemu-user
would mount on the host, so they are written out).  busybox's mount, umount
and df run against the same table."""
import os
import shutil
import subprocess

import pytest

import debroot
from harness import run_akuma

LINUX = [
    'no fstype: EINVAL',
    'unknown fstype: ENODEV',
    'missing target: ENOENT',
    'target under a file: ENOTDIR',
    'tmpfs on a file: ENOTDIR',
    'bad tmpfs option: EINVAL',
    'MS_NOUSER: EINVAL',
    'umount not a mount: EINVAL',
    'umount missing: ENOENT',
    'umount2 bad flags: EINVAL',
    'mount tmpfs size=8k: OK',
    'in mountinfo: 1',
    'a mode: 700',
    'tmpfs filled: 8192 bytes, then ENOSPC',
    'a/.. is the parent: 1',
    'umount tmpfs: OK',
    'a/big gone: ENOENT',
    'mount tmpfs: OK',
    'remount ro: OK',
    'write after ro: EROFS',
    'mkdir after ro: EROFS',
    'cat a/f: data',
    'remount not a mount root: EINVAL',
    'remount rw: OK',
    'write after rw: OK',
    'bind dir: OK',
    'cat b/f: data',
    'cat a/h: via bind',
    'bind file: OK',
    'cat file2: plain',
    'bind dir on file: ENOTDIR',
    'bind missing source: ENOENT',
    'bind no source: EINVAL',
    'umount file bind: OK',
    'cat file2: other',
    'mount under a: OK',
    'rbind: OK',
    'cat c/sub/deep: deep',
    'umount c busy (child): EBUSY',
    'umount c/sub: OK',
    'umount c: OK',
    'bind ro remount: OK',
    'write via ro bind: EROFS',
    'write via rw original: OK',
    'umount b: OK',
    'umount a busy (child): EBUSY',
    'umount a/sub: OK',
    'umount a busy (open file): EBUSY',
    'umount MNT_FORCE busy: EBUSY',
    'MNT_EXPIRE|MNT_DETACH: EINVAL',
    'umount MNT_DETACH: OK',
    'read after detach: 5',
    'a/f gone: ENOENT',
    'mount tmpfs: OK',
    'umount cwd busy: EBUSY',
    'MNT_EXPIRE first: EAGAIN',
    'MNT_EXPIRE second: OK',
    'mount noexec: OK',
    'exec on noexec: EACCES',
    'umount noexec: OK',
    'mount lower: OK',
    'mount upper: OK',
    'upper hides lower: ENOENT',
    'umount upper: OK',
    'cat a/which: lower',
    'umount lower: OK',
    'user mount: EPERM',
    'user mount missing target: ENOENT',
    'user umount: EPERM',
    'mount ext2 image: OK',
    'cat x/hello: on ext2',
    'remount ext2 ro: OK',
    'write ext2 ro: EROFS',
    'umount ext2: OK',
    'mount ext2 from dir: ENOTBLK',
]


def _need(tool):
    if not shutil.which(tool):
        pytest.skip(f"{tool} (e2fsprogs) is not installed")


def test_mount_calls_answer_as_linux(guest, tmp_path):
    _need("mke2fs")
    exe = guest("vfs_mount")
    (tmp_path / "s").mkdir()
    img = tmp_path / "t.img"
    subprocess.run(["mke2fs", "-q", "-t", "ext2", str(img), "8M"], check=True,
                   capture_output=True)
    got = run_akuma("run", "-v", f"{tmp_path}:/w", "--", exe, "/w/s", "/w/t.img")
    assert got.returncode == 0, got.stderr
    assert got.stdout.decode().splitlines() == LINUX
    assert os.listdir(tmp_path / "s") == []
    fsck = subprocess.run(["e2fsck", "-fn", str(img)], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout
    cat = subprocess.run(["debugfs", "-R", "cat /hello", str(img)], capture_output=True)
    assert cat.stdout == b"on ext2\n"


@pytest.fixture(scope="module")
def bbroot():
    try:
        return debroot.sysroot()
    except debroot.Unavailable as e:
        pytest.skip(f"Debian arm64 packages unavailable: {e}")


def test_busybox_mount_umount_df(bbroot):
    script = (
        "mkdir -p /mnt/a /mnt/p /mnt/s && "
        "mount -t tmpfs -o size=64k,nosuid scratch /mnt/a && "
        "mount -t proc proc /mnt/p && mount -t sysfs sysfs /mnt/s && "
        "grep -E ' /mnt/(a|p|s) ' /proc/mounts && "
        "dd if=/dev/zero of=/mnt/a/f bs=1k count=100 2>/dev/null; "
        "echo dd=$?; df -k /mnt/a | tail -1 | tr -s ' ' | cut -d' ' -f2-5; "
        "ls /mnt/s | head -2; cat /mnt/p/self/comm; "
        "mount -o remount,ro /mnt/a && (echo x > /mnt/a/g) 2>/dev/null; echo ro=$?; "
        "umount /mnt/a /mnt/p /mnt/s && grep -c /mnt/ /proc/mounts")
    got = run_akuma("run", "-e", "PATH=/bin", "--", str(bbroot / "bin/busybox"), "sh", "-c",
                    script)
    assert got.stdout.decode().splitlines() == [
        "scratch /mnt/a tmpfs rw,nosuid,relatime,size=64k 0 0",
        "proc /mnt/p proc rw,relatime 0 0",
        "sysfs /mnt/s sysfs ro,relatime 0 0",
        "dd=1",
        "64 64 0 100%",
        "block",
        "bus",
        "cat",
        "ro=1",
        "0",
    ], got.stderr
