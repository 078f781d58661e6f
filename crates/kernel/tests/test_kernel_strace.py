"""--strace: the Tracer's line format, argument decoding, filtering, and a
real program traced end to end."""
import io
import os
import re
import sys

import pytest

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi.errors import ENOENT, EBADF
from akuma.arch import Cpu
from akuma.mm import FrameAllocator, AddressSpace, PROT_READ, PROT_WRITE
from akuma.kernel import Kernel
from akuma.kernel.syscalls.registry import HANDLERS
from akuma.kernel.syscalls.strace import Tracer, format_arg
from akuma.vfs import Vfs, HostStream

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests"))
import guestlib  # noqa: E402

BUF = 0x10_0000


class FakeProcess:
    def __init__(self, aspace):
        self.aspace = aspace


class FakeTask:
    def __init__(self, aspace, tid=1):
        self.tid = tid
        self.process = FakeProcess(aspace)


@pytest.fixture(scope="module")
def mem():
    cpu = Cpu(4 << 20)
    frames = FrameAllocator(cpu)
    return cpu, frames


@pytest.fixture
def t(mem):
    a = AddressSpace(mem[1])
    a.map(BUF, 3 * 4096, PROT_READ | PROT_WRITE)
    yield FakeTask(a)
    a.release()


def trace(t, nr, name, handler, *args, names=None):
    out = io.StringIO()
    traced = Tracer(out, names=names).wrap(nr, name, handler)
    result = traced(t, *args, *([0] * (6 - len(args))))
    return out.getvalue(), result


def test_write_line(t):
    t.process.aspace.write(BUF, b"hello, world\n")
    out, res = trace(t, 64, "write", lambda t, *a: 13, 1, BUF, 13)
    assert res == 13
    assert out == '[1] write(1, "hello, world\\n", 13) = 13\n'


def test_long_buffers_are_cut_at_32_bytes(t):
    t.process.aspace.write(BUF, b"x" * 100)
    out, _ = trace(t, 64, "write", lambda t, *a: 100, 1, BUF, 100)
    assert out == f'[1] write(1, "{"x" * 32}"..., 100) = 100\n'


def test_quotes_and_binary_are_escaped(t):
    t.process.aspace.write(BUF, b'a"b\x00\xff')
    out, _ = trace(t, 64, "write", lambda t, *a: 5, 2, BUF, 5)
    assert out == '[1] write(2, "a\\"b\\x00\\xff", 5) = 5\n'


def test_read_buffer_is_shown_after_the_call(t):
    def read(tt, fd, buf, n, *_):
        tt.process.aspace.write(buf, b"abc")
        return 3

    out, res = trace(t, 63, "read", read, 0, BUF, 4096)
    assert res == 3
    assert out == '[1] read(0, "abc", 4096) = 3\n'


def test_error_results(t):
    out, res = trace(t, 63, "read", lambda *a: -EBADF, 9, BUF, 10)
    assert res == -9
    assert out == "[1] read(9, 0x100000, 10) = -1 EBADF (Bad file descriptor)\n"


def test_path_and_flags(t):
    t.process.aspace.write(BUF, b"/etc/passwd\0")
    out, _ = trace(t, 56, "openat", lambda *a: 3, (-100) & (2**64 - 1), BUF,
                   F.O_RDONLY | F.O_CLOEXEC)
    assert out == '[1] openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC, 0o0) = 3\n'
    out, _ = trace(t, 56, "openat", lambda *a: -ENOENT, 3, BUF,
                   F.O_WRONLY | F.O_CREAT | F.O_TRUNC, 0o644)
    assert out == ('[1] openat(3, "/etc/passwd", O_WRONLY|O_CREAT|O_TRUNC, 0o644) = '
                   '-1 ENOENT (No such file or directory)\n')


def test_bad_pointers_print_as_hex(t):
    out, _ = trace(t, 56, "openat", lambda *a: -14, 3, 0xDEAD0000, 0)
    assert '0xdead0000' in out
    out, _ = trace(t, 56, "openat", lambda *a: -14, 3, 0, 0)
    assert "NULL" in out
    out, _ = trace(t, 64, "write", lambda *a: -14, 1, 0xDEAD0000, 5)
    assert out.startswith("[1] write(1, 0xdead0000, 5) = -1 EFAULT")


def test_mmap_and_brk_results_are_hex(t):
    out, _ = trace(t, 214, "brk", lambda *a: 0x60_0000, 0)
    assert out == "[1] brk(0x0) = 0x600000\n"
    out, _ = trace(t, 222, "mmap", lambda *a: 0x7F00_0000_0000, 0, 4096, 3, 0x22,
                   (-1) & (2**64 - 1), 0)
    assert out == "[1] mmap(0x0, 4096, 0x3, 0x22, -1, 0x0) = 0x7f0000000000\n"


def test_format_arg_kinds(t):
    assert format_arg(t, "fd", (-100) & (2**64 - 1), ()) == "AT_FDCWD"
    assert format_arg(t, "int", 0xFFFFFFFF, ()) == "-1"
    assert format_arg(t, "sig", 9, ()) == "9"
    assert format_arg(t, "oct", 0o755, ()) == "0o755"
    assert format_arg(t, "size", 10, ()) == "10"
    assert format_arg(t, "hex", 255, ()) == "0xff"
    assert format_arg(t, "oflags", F.O_RDWR | F.O_DIRECTORY | F.O_NOFOLLOW, ()) == \
        "O_RDWR|O_DIRECTORY|O_NOFOLLOW"


def test_blocked_calls_are_printed_when_they_complete(t):
    state = {"n": 0}

    def h(*a):
        state["n"] += 1
        return None if state["n"] == 1 else 1

    out = io.StringIO()
    traced = Tracer(out).wrap(63, "read", h)
    assert traced(t, 0, BUF, 1, 0, 0, 0) is None
    assert out.getvalue() == ""
    assert traced(t, 0, BUF, 1, 0, 0, 0) == 1
    assert out.getvalue().count("\n") == 1


def test_filter(t):
    h = HANDLERS["getpid"]
    tracer = Tracer(io.StringIO(), names=["read", "write"])
    assert tracer.wrap(172, "getpid", h) is h
    assert tracer.wrap(63, "read", HANDLERS["read"]) is not HANDLERS["read"]
    assert Tracer(io.StringIO(), names=None).wrap(172, "getpid", h) is not h


def test_wrapped_handler_keeps_its_name(t):
    traced = Tracer(io.StringIO()).wrap(172, "getpid", HANDLERS["getpid"])
    assert traced.__name__ == HANDLERS["getpid"].__name__


def test_output_errors_are_swallowed(t):
    class Closed(io.StringIO):
        def write(self, s):
            raise ValueError("closed")

    traced = Tracer(Closed()).wrap(172, "getpid", lambda *a: 5)
    assert traced(t, 0, 0, 0, 0, 0, 0) == 5


class ErrnoKernel:
    """The kernel's single error path, as Kernel.syscall_error maps it."""

    def syscall_error(self, t, nr, exc):
        if isinstance(exc, KernelError):
            return -exc.errno
        raise exc


def test_calls_failing_with_kernel_error_are_traced(t):
    """Handlers fail by raising KernelError too (EBADF from fds.get, EFAULT
    from read_user...): those calls are traced like the others."""
    def close(tt, fd, *_):
        raise KernelError(EBADF)

    t.kernel = ErrnoKernel()
    out = io.StringIO()
    traced = Tracer(out).wrap(57, "close", close)
    try:
        res = traced(t, 99, 0, 0, 0, 0, 0)
    except KernelError as e:
        res = -e.errno
    assert res == -EBADF
    assert out.getvalue() == "[1] close(99) = -1 EBADF (Bad file descriptor)\n"


# -- a real program ----------------------------------------------------------------

def _run(name, args=(), strace=(), pie=False):
    if not guestlib.zig_available():
        pytest.skip("ziglang is not installed (pip install ziglang)")
    data = guestlib.build(name, pie=pie).read_bytes()
    vfs = Vfs()
    f = vfs.open(b"/prog", F.O_CREAT | F.O_WRONLY, 0o755)
    f.write(data)
    f.close()
    log = io.StringIO()
    k = Kernel(vfs, mem=64 << 20, strace=list(strace), log=log)
    r, w = os.pipe()
    try:
        files = [HostStream(os.open(os.devnull, os.O_RDONLY), b"/dev/stdin"),
                 HostStream(os.dup(w), b"/dev/stdout"), HostStream(os.dup(w), b"/dev/stderr")]
        os.close(w)
        w = None
        proc = k.spawn(b"/prog", [b"/prog", *args], [b"A=1"], files=files)
        status = k.run(until=proc)
        with os.fdopen(r, "rb") as rf:
            r = None
            out = rf.read()
    finally:
        for fd in (r, w):
            if fd is not None:
                os.close(fd)
    return status, out, log.getvalue()


@pytest.mark.parametrize("pie", [False, True], ids=["static", "static-pie"])
def test_strace_of_hello(pie):
    status, out, log = _run("hello", pie=pie)
    assert status == 0
    assert out == b"hello, world\n"
    lines = log.splitlines()
    assert all(re.match(r"^\[1\] [a-z_0-9]+\(.*\) = ", line) for line in lines), lines
    writes = [line for line in lines if re.match(r"^\[1\] (write|writev)\(1, ", line)]
    assert writes, lines
    w = writes[0]
    assert w == '[1] write(1, "hello, world\\n", 13) = 13' or \
        re.fullmatch(r"\[1\] writev\(1, 0x[0-9a-f]+, \d+\) = 13", w), w
    assert lines[-1].startswith("[1] exit_group(0) = ")


def test_strace_filter_only_prints_named_calls():
    status, out, log = _run("hello", strace=["exit_group"])
    assert status == 0
    assert [line.split(" = ")[0] for line in log.splitlines()] == ["[1] exit_group(0)"]


def test_no_strace_no_wrapping():
    k = Kernel(Vfs(), mem=16 << 20, strace=None, log=io.StringIO())
    assert k.cpu.syscall_table[172] is HANDLERS["getpid"]
