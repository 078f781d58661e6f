"""Memory syscall handlers (brk, mmap, munmap, mprotect, mremap) called
directly on a process's AddressSpace."""
import io

import pytest

from akuma.abi.errors import EINVAL, ENOMEM, EEXIST, EFAULT
from akuma.kernel import Kernel, Process, Task
from akuma.kernel.syscalls.registry import HANDLERS
from akuma.mm import EFault, PROT_READ, PROT_WRITE, ACCERR
from akuma.vfs import Vfs

P = 4096
B = 0x10_0000
RW = PROT_READ | PROT_WRITE
MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE = 2, 0x20, 0x10, 0x100000
ANON = MAP_PRIVATE | MAP_ANONYMOUS
NOFD = (1 << 64) - 1


@pytest.fixture(scope="module")
def kernel():
    return Kernel(Vfs(), mem=16 << 20, log=io.StringIO())


@pytest.fixture
def t(kernel):
    p = Process(1, kernel.new_address_space())
    task = Task(1, p, kernel.cpu.new_context())
    task.kernel = kernel
    yield task
    p.aspace.release()


def call(t, name, *args):
    return HANDLERS[name](t, *args, *([0] * (6 - len(args))))


def test_brk(t):
    a = t.process.aspace
    a.brk_start = a.brk = 0x60_0000
    assert call(t, "brk", 0) == 0x60_0000
    assert call(t, "brk", 0x60_3000) == 0x60_3000
    a.write(0x60_2FFF, b"x")
    assert call(t, "brk", 0x10_0000) == 0x60_3000     # below the start: unchanged
    assert call(t, "brk", 0x60_1000) == 0x60_1000


def test_mmap_anonymous(t):
    a = t.process.aspace
    addr = call(t, "mmap", 0, 3 * P, RW, ANON, NOFD, 0)
    assert addr > 0 and addr % P == 0
    assert a.read(addr, 3 * P) == bytes(3 * P)
    a.write(addr + P, b"data")
    addr2 = call(t, "mmap", 0, P, PROT_READ, ANON, NOFD, 0)
    assert addr2 + P <= addr or addr2 >= addr + 3 * P
    with pytest.raises(EFault) as ei:
        a.write(addr2, b"x")
    assert ei.value.code == ACCERR


@pytest.mark.parametrize("args", [
    (0, 0, RW, ANON, NOFD, 0),                 # length 0
    (0, P, RW, MAP_ANONYMOUS, NOFD, 0),        # neither private nor shared
    (0, P, RW, ANON, NOFD, 100),               # unaligned offset
    (B + 1, P, RW, ANON | MAP_FIXED, NOFD, 0), # unaligned fixed address
    (0, P, 0x80, ANON, NOFD, 0),               # unknown prot bit
])
def test_mmap_einval(t, args):
    assert call(t, "mmap", *args) == -EINVAL


def test_mmap_fixed_and_noreplace(t):
    assert call(t, "mmap", B, P, RW, ANON | MAP_FIXED, NOFD, 0) == B
    assert call(t, "mmap", B, P, RW, ANON | MAP_FIXED_NOREPLACE, NOFD, 0) == -EEXIST
    assert call(t, "mmap", B + P, P, RW, ANON | MAP_FIXED_NOREPLACE, NOFD, 0) == B + P


def test_munmap_and_mprotect(t):
    a = t.process.aspace
    assert call(t, "mmap", B, 4 * P, RW, ANON | MAP_FIXED, NOFD, 0) == B
    assert call(t, "mprotect", B + P, P, PROT_READ) == 0
    assert [(v.start, v.prot) for v in a.vmas] == [(B, RW), (B + P, PROT_READ), (B + 2 * P, RW)]
    assert call(t, "mprotect", B + 1, P, PROT_READ) == -EINVAL
    assert call(t, "mprotect", B + 8 * P, P, PROT_READ) == -ENOMEM
    assert call(t, "munmap", B, 4 * P) == 0
    assert a.vmas == []
    assert call(t, "munmap", B + 1, P) == -EINVAL
    assert call(t, "munmap", B, 0) == -EINVAL


def test_mremap_grow_in_place_and_move(t):
    a = t.process.aspace
    call(t, "mmap", B, P, RW, ANON | MAP_FIXED, NOFD, 0)
    a.write(B, b"keep")
    assert call(t, "mremap", B, P, 2 * P, 0, 0) == B
    assert a.find(B + P) is not None
    # Blocked by a neighbour without MAYMOVE.
    call(t, "mmap", B + 2 * P, P, PROT_READ, ANON | MAP_FIXED, NOFD, 0)
    assert call(t, "mremap", B, 2 * P, 4 * P, 0, 0) == -ENOMEM
    new = call(t, "mremap", B, 2 * P, 4 * P, 1, 0)      # MREMAP_MAYMOVE
    assert new != B and new > 0
    assert a.read(new, 4) == b"keep"
    assert a.find(B) is None
    assert call(t, "mremap", B, P, P, 0, 0) == -EFAULT


def test_mremap_fixed_overlapping_is_einval(t):
    a = t.process.aspace
    call(t, "mmap", B, 4 * P, RW, ANON | MAP_FIXED, NOFD, 0)
    a.write(B, b"A" * P + b"B" * P + b"C" * P + b"D" * P)
    assert call(t, "mremap", B, 4 * P, 4 * P, 3, B + 2 * P) == -EINVAL
    assert a.read(B + 3 * P, 1) == b"D"
