"""File metadata syscalls (fsmeta.py, fslocks.py): guest programs run under
akuma on a hostfs volume (-v DIR:/data) and on the memfs /tmp, compared
line by line with qemu-aarch64-static on the host (Linux) in a directory
of the same contents.

fcntl record locks and renameat2's flags are reached through fs.py's fcntl
and renameat2 handlers."""
import os
import shutil
import tempfile

import pytest

from harness import run_akuma, test_env


# qemu-user 7.2 has no preadv2/pwritev2 (ENOSYS); Linux's answers, written out.
RWV2_LINUX = [
    "preadv2 cur: 19",
    "preadv2: [][llo vector worl] pos=19",
    "preadv2 at: 4",
    "preadv2: [vect] pos=19",
    "preadv2 hipri: 4",
    "preadv2 bad flag: -1 EOPNOTSUPP",
    "preadv2 neg: -1 EINVAL",
    "pwritev2 at: 2",
    "pwritev2 cur: 2",
    "pos: 5",
    "pwritev2 append: 2",
    "pwritev2 dsync: 2",
    "pwritev2 bad flag: -1 EOPNOTSUPP",
    "v: [XYhXYlXYvector worldXY]",
]



@pytest.fixture
def dirs():
    """Two empty world-searchable directories under /tmp (a uid-1000 child
    must reach them): one for qemu, one for akuma's volume."""
    made = []

    def make():
        d = tempfile.mkdtemp(prefix="akuma-fs-", dir="/tmp")
        os.chmod(d, 0o755)
        made.append(d)
        return d
    yield make
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


def _lines(cp):
    return cp.stdout.decode(errors="replace").splitlines()


def _qemu_lines(cp):
    """qemu's output with the preadv2/pwritev2 block replaced by Linux's
    answers when qemu lacks those calls."""
    lines = _lines(cp)
    if "preadv2 cur: -1 ENOSYS" in lines:
        i = lines.index("preadv2 cur: -1 ENOSYS")
        lines[i:i + len(RWV2_LINUX)] = RWV2_LINUX
    return lines


def _run_both(guest, qemu, dirs, prog, *extra, volume=True):
    exe = guest(prog)
    qd = dirs()
    ref = qemu(exe, qd, *extra, env=test_env())
    if volume:
        ad = dirs()
        got = run_akuma("run", "-v", f"{ad}:/data", "--", exe, "/data", *extra)
        assert os.listdir(ad) == [], "the guest left files behind on the volume"
    else:
        got = run_akuma("run", "--", exe, "/tmp", *extra)
    assert ref.returncode == 0, ref.stderr
    assert got.returncode == 0, got.stderr
    return got, ref


def _assert_same(got, ref_lines):
    lines = _lines(got)
    for i, (a, b) in enumerate(zip(lines, ref_lines)):
        assert a == b, f"line {i + 1}: akuma {a!r} != linux {b!r}"
    assert len(lines) == len(ref_lines)
    assert lines[-1] == "done"


@pytest.mark.parametrize("volume", [True, False], ids=["hostfs", "memfs"])
def test_fs_meta_matches_linux(guest, qemu, dirs, volume):
    got, ref = _run_both(guest, qemu, dirs, "fs_meta", volume=volume)
    _assert_same(got, _qemu_lines(ref))
    lines = _lines(got)
    # A few of the rules, spelled out.
    assert "linkat AT_EMPTY_PATH: 0" in lines
    assert "fchmodat NOFOLLOW symlink: -1 EOPNOTSUPP" in lines
    assert "m mode after chown: 100755" in lines            # S_ISUID/S_ISGID killed
    assert "utimensat bad nsec: -1 EINVAL" in lines
    assert "utimensat both omit badfd: 0" in lines       # nothing checked at all
    assert "nr chmod other's: -1 EPERM" in lines
    assert "grp mode: 100755" in lines                      # S_ISGID dropped, no error
    assert "nr chgrp non-member: -1 EPERM" in lines
    assert "nr utimensat set other's: -1 EPERM" in lines
    assert "nr utimensat now readonly: -1 EACCES" in lines
    assert "nr mknod chr: -1 EPERM" in lines
    assert "nr link other's readonly: -1 EPERM" in lines  # protected_hardlinks
    assert "chr: mode=20600 rdev=1,3 size=0" in lines
    assert "fallocate punch no keep: -1 EOPNOTSUPP" in lines
    assert "copy_file_range overlap: -1 EINVAL" in lines
    assert "close_range bad flags: -1 EINVAL" in lines


@pytest.mark.parametrize("volume", [True, False], ids=["hostfs", "memfs"])
def test_fs_locks_matches_linux(guest, qemu, dirs, volume):
    got, ref = _run_both(guest, qemu, dirs, "fs_locks", volume=volume)
    _assert_same(got, _lines(ref))
    lines = _lines(got)
    assert "flock other ofd ex nb: -1 EAGAIN" in lines
    assert "setlkw deadlock: -1 EDEADLK" in lines
    assert "probe after closing another fd: UN" in lines
    assert "ofd getlk: type=WR start=0 len=10 pid=-1" in lines
    assert lines.index("parent: unlocking") < lines.index("child: blocking flock=0")
    assert "exchange: 0" in lines and "r2: [one]" in lines


def test_chroot(guest, qemu, dirs):
    exe = guest("fs_locks")
    ref = qemu(exe, dirs(), "chroot", env=test_env())
    got = run_akuma("run", "-v", f"{dirs()}:/data", "--", exe, "/data", "chroot")
    assert got.returncode == 0, got.stderr
    lines = _lines(got)
    # What fsmeta decides by itself: the lookups and the root change.
    assert lines[:3] == ["chroot missing: -1 ENOENT", "chroot file: -1 ENOTDIR", "chroot: 0"]
    assert lines == _lines(ref)


def test_sendfile_into_a_full_pipe_loses_nothing(guest, qemu, akuma, tmp_path):
    exe = guest("sendfile_pipe")
    got = akuma("run", "-v", f"{tmp_path}:/vol", exe, "/vol")
    assert got.returncode == 0, got.stderr
    assert got.stdout == qemu(exe, str(tmp_path), env=test_env()).stdout
    assert b"reader: bytes=1048576 mismatched=0" in got.stdout


@pytest.mark.parametrize("volume", [True, False], ids=["hostfs", "memfs"])
def test_xattr_nice_fadvise_match_linux(guest, qemu, dirs, volume):
    """xattrs (every form and error path; no filesystem here stores any),
    getpriority/setpriority over a process group and an unprivileged user,
    and fadvise64, compared with Linux on a host tmpfs directory."""
    exe = guest("xattr_prio")
    qd = tempfile.mkdtemp(prefix="akuma-xattr-",
                          dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    os.chmod(qd, 0o755)
    try:
        ref = qemu(exe, qd, env=test_env())
    finally:
        shutil.rmtree(qd, ignore_errors=True)
    assert ref.returncode == 0, ref.stderr
    ref_lines = _lines(ref)
    if "nr child: 3" in ref_lines:
        pytest.skip("the host refuses setuid for qemu's child (not running as root)")
    if "prio set -100 (clamped): -1 EACCES" in ref_lines:
        pytest.skip("the host's root lacks CAP_SYS_NICE")
    if volume:
        ad = dirs()
        got = run_akuma("run", "-v", f"{ad}:/data", "--", exe, "/data")
        assert os.listdir(ad) == [], "the guest left files behind on the volume"
    else:
        got = run_akuma("run", "--", exe, "/tmp")
    assert got.returncode == 0, got.stderr
    _assert_same(got, ref_lines)
    assert b"unsupported syscall" not in got.stderr
    # Akuma's own answers where Linux's depend on the filesystem.
    assert b"raw set user.x: -1 EOPNOTSUPP" in got.stderr
    lines = _lines(got)
    assert "get user.x: -1 ENODATA" in lines
    assert "get foo.bar: -1 EOPNOTSUPP" in lines          # no such namespace
    assert "get name 256: -1 ERANGE" in lines
    assert "lset symlink user: -1 EPERM" in lines         # user.* only on files and dirs
    assert "list f: ok names=0" in lines
    assert "nr get unsearchable: -1 EACCES" in lines
    assert "nr set trusted: -1 EPERM" in lines
    assert "fadvise pipe bad advice: -1 ESPIPE" in lines
    assert "fadvise socket: 0" in lines
    assert "prio get: 40" in lines                         # 20 - nice, nice clamped to -20
    assert "A self set -6 (lower): -1 EACCES" in lines
    assert "A set B (root's): -1 EPERM" in lines
    assert "A pgrp set 15 (B is root's): -1 EPERM" in lines


def test_named_pipes_match_linux(guest, qemu, akuma):
    """mkfifo and open(2) of a FIFO: waiting readers and writers, a writer
    done before the reader ran again, O_NONBLOCK (ENXIO), O_RDWR, EINTR,
    poll, fstat (on /tmp, a tmpfs; they used to fail with ENXIO)."""
    exe = guest("fifo")
    ref = qemu(exe, env=test_env())
    got = akuma("run", exe)
    assert got.returncode == ref.returncode == 0, got.stderr
    assert got.stdout == ref.stdout
    assert b"late reader reads: 'early' then 0" in got.stdout
