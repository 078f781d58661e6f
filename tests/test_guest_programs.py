"""Real AArch64 programs under `akuma run`, compared with qemu-aarch64-static
running the same binary."""
import pytest

from harness import exit_code, test_env as _env

SAME_AS_QEMU = [
    ("hello", ()),
    ("exitcode", ("3",)),
    ("exitcode", ("255",)),
    ("exitcode", ("256",)),
    ("malloc", ()),
    ("cpu", ()),
    ("cpu", ("100", "1")),
    ("getrandom", ()),
    ("syscalls", ("/tmp/akuma_syscalls_test",)),
    ("jit", ()),
    ("shmem", ()),
    ("pipesize", ()),
]


@pytest.mark.parametrize("pie", [False, True], ids=["static", "static-pie"])
@pytest.mark.parametrize("name,args", SAME_AS_QEMU, ids=[f"{n}-{'-'.join(a)}" for n, a in SAME_AS_QEMU])
def test_output_and_status_match_qemu(guest, qemu, akuma, name, args, pie):
    exe = guest(name, pie=pie)
    ref = qemu(exe, *args, env=_env())
    got = akuma("run", exe, *args)
    assert got.stdout == ref.stdout
    assert exit_code(got) == exit_code(ref)
    assert b"Traceback" not in got.stderr


def test_cpu_checksums_are_right(guest, akuma):
    import guestlib
    got = akuma("run", guest("cpu"), "2000000", "8")
    assert got.returncode == 0
    assert got.stdout == guestlib.cpu_expected(2_000_000, 8)


@pytest.mark.parametrize("sig", ["2", "6", "9", "10", "11", "15"])
def test_death_by_signal_is_128_plus_n(guest, qemu, akuma, sig):
    exe = guest("exitcode")
    ref = qemu(exe, sig, "signal", env=_env())
    got = akuma("run", exe, sig, "signal")
    assert exit_code(ref) == 128 + int(sig)
    assert got.returncode == 128 + int(sig)


@pytest.mark.parametrize("mode", [(), ("read",)], ids=["write", "read"])
def test_null_pointer_is_sigsegv_139_with_one_line(guest, akuma, mode):
    got = akuma("run", guest("segv"), *mode)
    assert got.stdout == b"before\n"
    assert got.returncode == 139
    lines = got.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "SIGSEGV" in lines[0] and "pid 1" in lines[0] and "pc 0x" in lines[0]
    assert ("write of unmapped address 0x0" if not mode else
            "read of unmapped address 0x10") in lines[0]


def _args_lines(out):
    """The lines to compare with qemu: its auxv differs from Linux's, and it
    reverses the environment, so env lines compare as a sorted block."""
    lines = [line for line in out.decode().splitlines()
             if not line.startswith(("auxv_types=", "AT_PHNUM="))]
    env = sorted(line for line in lines if line.startswith("env="))
    return [line for line in lines if not line.startswith("env=")] + env


@pytest.mark.parametrize("pie", [False, True], ids=["static", "static-pie"])
def test_argv_envp_auxv(guest, qemu, akuma, pie):
    exe = guest("args", pie=pie)
    argv = ("a", "b c", "", "--x=1")
    env = _env(ARGS_QUIET_ENV="1", AKUMA_TEST_ONE="1", AKUMA_TEST_TWO="two words")
    ref = qemu(exe, *argv, env=env)
    got = akuma("run", exe, *argv, env=env)
    assert got.returncode == 0
    assert _args_lines(got.stdout) == _args_lines(ref.stdout)
    out = got.stdout.decode().splitlines()
    # Linux keeps the order execve was given.
    assert [v for v in out if v.startswith("env=")] == \
        ["env=AKUMA_TEST_ONE=1", "env=AKUMA_TEST_TWO=two words"]
    # Linux order of the auxv types this kernel gives (AT_NULL excluded).
    types = [int(x) for x in next(v for v in out if v.startswith("auxv_types="))[11:].split(",")]
    assert set(types) >= {3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 23, 25, 26, 31, 51}
    phnum = int(next(v for v in out if v.startswith("AT_PHNUM="))[9:])
    ref_phnum = int(next(v for v in ref.stdout.decode().splitlines() if v.startswith("AT_PHNUM="))[9:])
    assert phnum == ref_phnum


def test_clean_env_and_extra_env(guest, akuma):
    got = akuma("run", "--clean-env", "-e", "AKUMA_TEST_A=1", "-e", "B=2", guest("args"))
    lines = got.stdout.decode().splitlines()
    assert "envp[0]=AKUMA_TEST_A=1" in lines and "envp[1]=B=2" in lines
    assert "envc=2" in lines


def test_caller_environment_is_passed(guest, akuma):
    got = akuma("run", guest("args"), env=_env(AKUMA_TEST_CALLER="yes", ARGS_QUIET_ENV="1"))
    assert "env=AKUMA_TEST_CALLER=yes" in got.stdout.decode().splitlines()


def test_advertised_hwcaps_all_execute(guest, akuma):
    got = akuma("run", guest("hwcap"))
    assert got.returncode == 0, got.stderr
    out = got.stdout.decode()
    assert "fp=1 asimd=1" in out
    assert "atomics ldadd old=5 new=8" in out      # LSE: glibc and musl pick it
    assert "cpuid=0 sve=0 paca=0" in out


@pytest.mark.parametrize("addr", ["0xffff000000000000", "0x0100000000001000",
                                  "0x1000000000000", "0xfffffffffffff010"])
@pytest.mark.parametrize("how", ["jump", "read", "write"])
def test_addresses_beyond_user_space_are_sigsegv_not_a_hang(guest, akuma, addr, how):
    got = akuma("run", guest("highaddr"), addr, how, timeout=30)
    assert got.returncode == 139, got.stderr
    line = got.stderr.decode().strip().splitlines()[-1]
    assert "SIGSEGV" in line and f"address {int(addr, 16):#x}" in line


@pytest.mark.parametrize("seed", ["1", "2", "3", "4"])
def test_hostile_syscall_arguments_never_break_the_kernel(guest, akuma, seed):
    # ~16,000 calls per seed over every syscall number, with NULL, -1, wild,
    # kernel-range and overrunning pointers: each must get a result or an
    # errno — never a Python exception inside the kernel, never a crash.
    got = akuma("run", guest("sysfuzz"), seed, "20000", timeout=120)
    assert got.returncode == 0, got.stderr[-500:]
    assert got.stdout.startswith(b"calls=")
    assert b"internal error" not in got.stderr and b"Traceback" not in got.stderr
