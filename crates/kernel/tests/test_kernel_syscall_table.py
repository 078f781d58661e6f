"""The syscall table: Linux AArch64 numbers, ENOSYS for the rest (logged
once per name), the support listing, and the registry's consistency."""
import inspect
import io

import pytest

from akuma.abi.errors import ENOSYS
from akuma.kernel import Kernel, Process, Task
from akuma.kernel.syscalls import table
from akuma.kernel.syscalls.numbers import NAMES
from akuma.kernel.syscalls.registry import HANDLERS, ARGSPEC, NOTES
from akuma.vfs import Vfs

NUMBER = {v: k for k, v in NAMES.items()}


@pytest.mark.parametrize("name,nr", [
    ("setxattr", 5), ("getxattr", 8), ("listxattr", 11), ("fremovexattr", 16),
    ("setpriority", 140), ("getpriority", 141), ("fadvise64", 223),
    ("getcwd", 17), ("dup", 23), ("dup3", 24), ("fcntl", 25), ("ioctl", 29),
    ("mkdirat", 34), ("unlinkat", 35), ("faccessat", 48), ("chdir", 49),
    ("openat", 56), ("close", 57), ("pipe2", 59), ("getdents64", 61), ("lseek", 62),
    ("read", 63), ("write", 64), ("readv", 65), ("writev", 66), ("pread64", 67),
    ("ppoll", 73), ("readlinkat", 78), ("newfstatat", 79), ("fstat", 80),
    ("exit", 93), ("exit_group", 94), ("set_tid_address", 96), ("futex", 98),
    ("nanosleep", 101), ("timer_create", 107), ("timer_gettime", 108),
    ("timer_getoverrun", 109), ("timer_settime", 110), ("timer_delete", 111),
    ("clock_gettime", 113), ("sched_yield", 124), ("kill", 129),
    ("tgkill", 131), ("rt_sigaction", 134), ("rt_sigprocmask", 135), ("rt_sigreturn", 139),
    ("uname", 160), ("getrlimit", 163), ("umask", 166), ("prctl", 167),
    ("gettimeofday", 169), ("getpid", 172), ("getppid", 173), ("getuid", 174),
    ("gettid", 178), ("sysinfo", 179), ("socket", 198), ("brk", 214), ("munmap", 215),
    ("mremap", 216), ("clone", 220), ("execve", 221), ("mmap", 222), ("mprotect", 226),
    ("madvise", 233), ("wait4", 260), ("prlimit64", 261), ("renameat2", 276),
    ("getrandom", 278), ("statx", 291), ("clone3", 435), ("faccessat2", 439),
    ("ioprio_set", 30), ("ioprio_get", 31), ("capget", 90), ("capset", 91),
    ("sched_setparam", 118), ("sched_setscheduler", 119), ("sched_getscheduler", 120),
    ("sched_getparam", 121), ("sched_get_priority_max", 125), ("sched_get_priority_min", 126),
    ("sched_rr_get_interval", 127), ("mlock", 228), ("munlock", 229), ("mlockall", 230),
    ("munlockall", 231), ("mincore", 232), ("membarrier", 283), ("mlock2", 284),
])
def test_linux_aarch64_numbers(name, nr):
    assert NAMES[nr] == name


def test_names_are_unique():
    assert len(set(NAMES.values())) == len(NAMES)


def test_no_x86_only_calls():
    # AArch64 has no open/stat/fork/pipe: only the *at and generic forms.
    for legacy in ("open", "stat", "lstat", "fork", "vfork", "pipe", "dup2", "access",
                   "select", "poll", "getdents", "mkdir"):
        assert legacy not in NUMBER, legacy


def test_table_size_and_entries():
    t = table.build()
    assert len(t) == table.TABLE_SIZE == max(NAMES) + 1
    assert all(callable(h) for h in t)
    assert t[64] is HANDLERS["write"]
    assert t[172] is HANDLERS["getpid"]


def test_every_handler_name_is_a_linux_syscall():
    unknown = [n for n in HANDLERS if n not in NUMBER]
    assert unknown == []
    assert set(ARGSPEC) == set(HANDLERS)
    assert set(NOTES) <= set(HANDLERS)


def test_argspec_kinds_are_known_and_fit_six_registers():
    kinds = {"fd", "int", "sig", "path", "oflags", "oct", "size", "u", "hex", "wbuf", "rbuf"}
    for name, spec in ARGSPEC.items():
        assert len(spec) <= 6, name
        assert set(spec) <= kinds, (name, spec)
        for i, kind in enumerate(spec):
            if kind in ("wbuf", "rbuf"):
                # The buffer's length is the next argument.
                assert i + 1 < len(spec) and spec[i + 1] == "size", (name, spec)


def test_handlers_take_task_and_six_arguments():
    for name, h in HANDLERS.items():
        params = list(inspect.signature(h).parameters.values())
        named = [p for p in params if p.kind == p.POSITIONAL_OR_KEYWORD]
        has_star = any(p.kind == p.VAR_POSITIONAL for p in params)
        assert named, name
        assert len(named) == 7 or (has_star and len(named) <= 7), name


def test_wrap_decorates_each_entry():
    seen = []

    def wrap(nr, name, h):
        seen.append((nr, name))
        return ("wrapped", h)

    t = table.build(wrap)
    assert len(seen) == table.TABLE_SIZE
    assert seen[63] == (63, "read")
    assert seen[42] == (42, "nfsservctl")
    assert t[63] == ("wrapped", HANDLERS["read"])
    # Holes in the numbering get a synthetic name.
    holes = [nr for nr in range(table.TABLE_SIZE) if nr not in NAMES]
    if holes:
        assert seen[holes[0]] == (holes[0], f"syscall_{holes[0]}")


def test_support_lists_every_number_with_a_level():
    rows = table.support()
    assert [nr for nr, _, _ in rows] == sorted(NAMES)
    levels = {name: level for _, name, level in rows}
    assert levels["write"] == "yes"
    assert levels["io_setup"] == "ENOSYS"
    assert levels["madvise"].startswith("partial: ")
    for _, name, level in rows:
        assert level == "yes" or level == "ENOSYS" or level.startswith("partial: ") or \
            level == "accepted and ignored", (name, level)
        assert (level == "ENOSYS") == (name not in HANDLERS)


# -- ENOSYS -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kernel():
    return Kernel(Vfs(), mem=16 << 20, log=io.StringIO())


@pytest.fixture
def task(kernel):
    kernel.log_file = io.StringIO()
    kernel._unsupported_seen.clear()
    p = Process(7, kernel.new_address_space())
    p.comm = b"prog"
    t = Task(7, p, kernel.cpu.new_context())
    t.kernel = kernel
    return t


def _unsupported():
    return next(nr for nr in sorted(NAMES) if NAMES[nr] not in HANDLERS)


def test_unknown_number_returns_enosys_and_logs_once(kernel, task):
    nr = _unsupported()
    h = kernel.cpu.syscall_table[nr]
    assert h(task, 0, 0, 0, 0, 0, 0) == -ENOSYS == -38
    assert h(task, 1, 2, 3, 4, 5, 6) == -38
    log = kernel.log_file.getvalue().splitlines()
    assert len(log) == 1
    assert NAMES[nr] in log[0] and f"({nr})" in log[0] and "prog" in log[0]
    assert "ENOSYS" in log[0]


def test_numbers_past_the_table_use_fallback(kernel, task):
    assert kernel.cpu.fallback is table.fallback
    assert table.fallback(task, 5000, 0, 0, 0, 0, 0, 0) == -38
    assert table.fallback(task, 5000, 0, 0, 0, 0, 0, 0) == -38
    assert table.fallback(task, 6000, 0, 0, 0, 0, 0, 0) == -38
    log = kernel.log_file.getvalue().splitlines()
    assert len(log) == 2
    assert "syscall_5000" in log[0] and "syscall_6000" in log[1]


def test_holes_in_the_numbering_are_enosys(kernel, task):
    holes = [nr for nr in range(table.TABLE_SIZE) if nr not in NAMES]
    assert holes, "asm-generic has unused numbers (e.g. 244-259)"
    assert kernel.cpu.syscall_table[holes[0]](task, 0, 0, 0, 0, 0, 0) == -38
