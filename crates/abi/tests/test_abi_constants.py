"""akuma.abi: errno, open flags, struct stat layout, signals — the Linux
AArch64 (asm-generic) values, checked against the numbers in the kernel
headers rather than against the host's modules."""
import struct

import pytest

from akuma.abi import KernelError, Stat, errno_name, makedev
from akuma.abi import errors as E
from akuma.abi import fcntl as F
from akuma.abi import signals as S
from akuma.abi import stat as ST


# -- errno ---------------------------------------------------------------------

@pytest.mark.parametrize("name,value", [
    ("EPERM", 1), ("ENOENT", 2), ("ESRCH", 3), ("EINTR", 4), ("EIO", 5), ("EBADF", 9),
    ("ECHILD", 10), ("EAGAIN", 11), ("ENOMEM", 12), ("EACCES", 13), ("EFAULT", 14),
    ("EEXIST", 17), ("ENOTDIR", 20), ("EISDIR", 21), ("EINVAL", 22), ("EMFILE", 24),
    ("ENOTTY", 25), ("ENOSPC", 28), ("ESPIPE", 29), ("EROFS", 30), ("EPIPE", 32),
    ("ERANGE", 34), ("ENAMETOOLONG", 36), ("ENOSYS", 38), ("ENOTEMPTY", 39), ("ELOOP", 40),
    ("ENOTSOCK", 88), ("EOPNOTSUPP", 95), ("ETIMEDOUT", 110),
])
def test_errno_values_are_linux(name, value):
    assert getattr(E, name) == value


def test_kernel_internal_restart_codes():
    assert E.ERESTARTSYS == 512
    assert E.ERESTARTNOHAND == 514


def test_kernel_error_carries_errno():
    with pytest.raises(KernelError) as ei:
        raise KernelError(E.ENOENT)
    assert ei.value.errno == 2
    assert "ENOENT" in str(ei.value)


def test_kernel_error_custom_message_keeps_errno():
    e = KernelError(E.EFAULT, "bad pointer")
    assert e.errno == 14
    assert str(e) == "bad pointer"
    assert isinstance(e, Exception)


def test_kernel_error_unknown_errno():
    e = KernelError(4000)
    assert e.errno == 4000
    assert str(e) == "4000"


def test_errno_name():
    assert errno_name(38) == "ENOSYS"
    assert errno_name(14) == "EFAULT"
    assert errno_name(99999) == "99999"


# -- open(2) / fcntl(2) ----------------------------------------------------------

@pytest.mark.parametrize("name,value", [
    ("O_RDONLY", 0), ("O_WRONLY", 1), ("O_RDWR", 2), ("O_ACCMODE", 3),
    ("O_CREAT", 0o100), ("O_EXCL", 0o200), ("O_NOCTTY", 0o400), ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000), ("O_NONBLOCK", 0o4000), ("O_DSYNC", 0o10000),
    # The arm64-specific ones (x86-64 has O_DIRECTORY=0o200000, O_NOFOLLOW=0o400000,
    # O_DIRECT=0o40000, O_LARGEFILE=0 or 0o100000).
    ("O_DIRECTORY", 0o40000), ("O_NOFOLLOW", 0o100000), ("O_DIRECT", 0o200000),
    ("O_LARGEFILE", 0o400000), ("O_NOATIME", 0o1000000), ("O_CLOEXEC", 0o2000000),
    ("O_SYNC", 0o4010000), ("O_PATH", 0o10000000), ("O_TMPFILE", 0o20040000),
])
def test_open_flags_aarch64(name, value):
    assert getattr(F, name) == value


def test_open_flags_are_distinct_bits():
    single = [F.O_CREAT, F.O_EXCL, F.O_NOCTTY, F.O_TRUNC, F.O_APPEND, F.O_NONBLOCK,
              F.O_DSYNC, F.O_ASYNC, F.O_DIRECTORY, F.O_NOFOLLOW, F.O_DIRECT, F.O_LARGEFILE,
              F.O_NOATIME, F.O_CLOEXEC, F.O_PATH]
    seen = 0
    for bit in single:
        assert bit & (bit - 1) == 0, oct(bit)
        assert not seen & bit, oct(bit)
        seen |= bit
    assert not seen & F.O_ACCMODE


def test_at_and_fcntl_constants():
    assert F.AT_FDCWD == -100
    assert F.AT_SYMLINK_NOFOLLOW == 0x100
    assert F.AT_REMOVEDIR == 0x200
    assert F.AT_EMPTY_PATH == 0x1000
    assert F.F_DUPFD_CLOEXEC == 1030
    assert (F.F_GETFD, F.F_SETFD, F.F_GETFL, F.F_SETFL) == (1, 2, 3, 4)
    assert F.FD_CLOEXEC == 1
    # F_SETFL never changes the access mode or creation flags.
    assert not F.SETFL_MASK & (F.O_ACCMODE | F.O_CREAT | F.O_TRUNC | F.O_CLOEXEC)
    assert F.SETFL_MASK & F.O_NONBLOCK and F.SETFL_MASK & F.O_APPEND


# -- struct stat -------------------------------------------------------------------

def test_stat_pack_is_128_bytes():
    assert ST.STAT_SIZE == 128
    assert len(Stat(mode=ST.S_IFREG | 0o644).pack()) == 128


def test_stat_field_offsets_asm_generic():
    s = Stat(mode=ST.S_IFREG | 0o755, size=0x1122334455, ino=0xABCDEF, dev=0x803,
             nlink=3, uid=1000, gid=1001, rdev=0x103, blksize=4096, blocks=77,
             atime_ns=1_500_000_001, mtime_ns=2_000_000_123, ctime_ns=3_999_999_999)
    b = s.pack()

    def q(off):
        return struct.unpack_from("<q", b, off)[0]

    def u32(off):
        return struct.unpack_from("<I", b, off)[0]

    assert struct.unpack_from("<Q", b, 0)[0] == 0x803           # st_dev
    assert struct.unpack_from("<Q", b, 8)[0] == 0xABCDEF        # st_ino
    assert u32(16) == ST.S_IFREG | 0o755                        # st_mode
    assert u32(20) == 3                                         # st_nlink
    assert u32(24) == 1000                                      # st_uid
    assert u32(28) == 1001                                      # st_gid
    assert struct.unpack_from("<Q", b, 32)[0] == 0x103          # st_rdev
    assert q(48) == 0x1122334455                                # st_size
    assert struct.unpack_from("<i", b, 56)[0] == 4096           # st_blksize
    assert q(64) == 77                                          # st_blocks
    assert (q(72), q(80)) == (1, 500_000_001)                   # st_atime, nsec
    assert (q(88), q(96)) == (2, 123)                           # st_mtime, nsec
    assert (q(104), q(112)) == (3, 999_999_999)                 # st_ctime, nsec
    # Padding and __unused are zero.
    assert b[40:48] == bytes(8) and b[60:64] == bytes(4) and b[120:128] == bytes(8)


def test_stat_type_predicates():
    assert Stat(mode=ST.S_IFDIR | 0o755).is_dir
    assert not Stat(mode=ST.S_IFDIR | 0o755).is_reg
    assert Stat(mode=ST.S_IFREG).is_reg
    assert Stat(mode=ST.S_IFLNK | 0o777).is_lnk
    assert not Stat(mode=ST.S_IFCHR).is_reg
    # S_IFSOCK shares bits with S_IFREG and S_IFLNK: the whole S_IFMT field counts.
    assert not Stat(mode=ST.S_IFSOCK).is_reg
    assert not Stat(mode=ST.S_IFSOCK).is_lnk


def test_makedev():
    assert makedev(1, 3) == 0x103           # /dev/null
    assert makedev(5, 1) == 0x501           # /dev/console
    assert makedev(0, 0) == 0
    # glibc's encoding for big numbers: minor low byte, major 12 bits, minor high bits.
    assert makedev(0x123, 0x45678) == (0x45600 << 12) | (0x123 << 8) | 0x78
    assert makedev(0x1000, 0) == 0x1000 << 32


# -- signals ----------------------------------------------------------------------

def test_signal_numbers():
    assert (S.SIGHUP, S.SIGINT, S.SIGQUIT, S.SIGKILL, S.SIGSEGV, S.SIGPIPE) == (1, 2, 3, 9, 11, 13)
    assert (S.SIGUSR1, S.SIGUSR2, S.SIGTERM, S.SIGCHLD, S.SIGCONT, S.SIGSTOP) == \
        (10, 12, 15, 17, 18, 19)
    assert (S.SIGTSTP, S.SIGWINCH, S.SIGSYS, S.SIGRTMIN, S.NSIG) == (20, 28, 31, 32, 64)


@pytest.mark.parametrize("sig,action", [
    (S.SIGHUP, S.TERM), (S.SIGINT, S.TERM), (S.SIGKILL, S.TERM), (S.SIGPIPE, S.TERM),
    (S.SIGALRM, S.TERM), (S.SIGTERM, S.TERM), (S.SIGUSR1, S.TERM), (S.SIGUSR2, S.TERM),
    (S.SIGQUIT, S.CORE), (S.SIGILL, S.CORE), (S.SIGTRAP, S.CORE), (S.SIGABRT, S.CORE),
    (S.SIGBUS, S.CORE), (S.SIGFPE, S.CORE), (S.SIGSEGV, S.CORE), (S.SIGSYS, S.CORE),
    (S.SIGXCPU, S.CORE), (S.SIGXFSZ, S.CORE),
    (S.SIGCHLD, S.IGNORE), (S.SIGURG, S.IGNORE), (S.SIGWINCH, S.IGNORE),
    (S.SIGSTOP, S.STOP), (S.SIGTSTP, S.STOP), (S.SIGTTIN, S.STOP), (S.SIGTTOU, S.STOP),
    (S.SIGCONT, S.CONT),
    (S.SIGRTMIN, S.TERM), (S.SIGRTMAX, S.TERM),
])
def test_default_actions(sig, action):
    assert S.default_action(sig) == action


def test_signame():
    assert S.signame(11) == "SIGSEGV"
    assert S.signame(9) == "SIGKILL"
    assert S.signame(2) == "SIGINT"
    assert S.signame(32) == "SIGRT0"
    assert S.signame(34) == "SIGRT2"
    assert S.signame(64) == "SIGRT32"
    assert S.signame(0) == "signal 0"


def test_signal_names_table_holds_only_signals():
    assert all(n.startswith("SIG") and "_" not in n for n in S.NAMES.values())
    assert 0 not in S.NAMES and 1 in S.NAMES     # SIG_DFL/SIG_IGN are not names


def test_signame_usr1_usr2():
    assert S.signame(S.SIGUSR1) == "SIGUSR1"
    assert S.signame(S.SIGUSR2) == "SIGUSR2"
    assert set(S.NAMES) == set(range(1, 32))


def test_si_codes():
    assert (S.SEGV_MAPERR, S.SEGV_ACCERR) == (1, 2)
    assert (S.BUS_ADRALN, S.BUS_ADRERR) == (1, 2)
    assert S.SI_KERNEL == 0x80
