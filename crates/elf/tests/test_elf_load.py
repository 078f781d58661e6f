"""akuma.elf.load: PT_LOAD segments mapped into an AddressSpace with their
rights, and the initial stack (argc, argv, envp, auxv) as Linux lays it out."""
import os
import struct
import sys

import pytest

from akuma.arch import Cpu
from akuma.mm import FrameAllocator, Mmu, AddressSpace, EFault, PROT_READ, PROT_WRITE, ACCERR
from akuma.elf import (parse, load_image, build_stack, ElfError, PIE_BASE, STACK_TOP,
                       STACK_SIZE, AT_NULL, AT_PHDR, AT_PAGESZ, AT_ENTRY, AT_RANDOM, AT_EXECFN,
                       AT_PLATFORM, AT_HWCAP, ET_DYN)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests"))
import guestlib  # noqa: E402


@pytest.fixture
def aspace():
    cpu = Cpu(32 << 20)
    frames = FrameAllocator(cpu)
    mmu = Mmu(cpu, frames)
    a = AddressSpace(frames, on_tlb_stale=mmu.sync)
    a._keep = (cpu, frames, mmu)
    return a


@pytest.fixture
def stack(aspace):
    aspace.map(STACK_TOP - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE, name="[stack]")
    return aspace


def _u64(a, addr):
    return struct.unpack("<Q", a.read(addr, 8))[0]


def _decode(a, sp):
    argc = _u64(a, sp)
    p = sp + 8
    argv = []
    for _ in range(argc):
        argv.append(_u64(a, p))
        p += 8
    assert _u64(a, p) == 0, "argv NULL terminator"
    p += 8
    envp = []
    while True:
        v = _u64(a, p)
        p += 8
        if v == 0:
            break
        envp.append(v)
    auxv = []
    while True:
        k, v = _u64(a, p), _u64(a, p + 8)
        p += 16
        auxv.append((k, v))
        if k == AT_NULL:
            break
    return argc, argv, envp, auxv


RANDOM = bytes(range(0xA0, 0xB0))


def test_build_stack_layout(stack):
    a = stack
    argv = [b"/bin/prog", b"a b", b"", b"--x=1"]
    envp = [b"PATH=/bin", b"HOME=/root"]
    aux_in = [(AT_PAGESZ, 4096), (AT_ENTRY, 0x401000), (AT_HWCAP, 3)]
    sp = build_stack(a, STACK_TOP, argv, envp, aux_in, b"/bin/prog", RANDOM)
    assert sp % 16 == 0
    assert STACK_TOP - 64 * 1024 < sp < STACK_TOP
    argc, argp, envpp, auxv = _decode(a, sp)
    assert argc == 4
    assert [a.read_cstr(p) for p in argp] == argv
    assert [a.read_cstr(p) for p in envpp] == envp
    # Strings live above the pointer arrays, below the top.
    for p in argp + envpp:
        assert sp < p < STACK_TOP
    aux = dict(auxv)
    assert auxv[-1] == (AT_NULL, 0)
    assert aux[AT_PAGESZ] == 4096 and aux[AT_ENTRY] == 0x401000 and aux[AT_HWCAP] == 3
    assert a.read(aux[AT_RANDOM], 16) == RANDOM
    assert a.read_cstr(aux[AT_EXECFN]) == b"/bin/prog"
    assert a.read_cstr(aux[AT_PLATFORM]) == b"aarch64"
    # Linux puts execfn at the very top of the stack.
    assert aux[AT_EXECFN] + len(b"/bin/prog") + 1 == STACK_TOP
    # The auxv given comes first, in order.
    assert auxv[:3] == aux_in
    # Each type appears once.
    assert len({k for k, _ in auxv}) == len(auxv)


def test_build_stack_no_args_no_env(stack):
    sp = build_stack(stack, STACK_TOP, [], [], [], b"x", RANDOM)
    assert sp % 16 == 0
    argc, argp, envpp, auxv = _decode(stack, sp)
    assert (argc, argp, envpp) == (0, [], [])
    assert auxv[-1] == (AT_NULL, 0)


@pytest.mark.parametrize("top_off", [0, 1, 3, 8, 15])
def test_build_stack_alignment_for_any_string_sizes(stack, top_off):
    for n in range(1, 18, 5):
        sp = build_stack(stack, STACK_TOP - top_off, [b"a" * n], [b"E" * (n + top_off)], [],
                         b"f" * n, RANDOM)
        assert sp % 16 == 0
        argc, argp, envpp, _ = _decode(stack, sp)
        assert stack.read_cstr(argp[0]) == b"a" * n


def test_build_stack_random_is_16_byte_aligned(stack):
    sp = build_stack(stack, STACK_TOP, [b"p"], [], [], b"p", RANDOM)
    aux = dict(_decode(stack, sp)[3])
    assert aux[AT_RANDOM] % 16 == 0


def test_build_stack_large_environment(stack):
    envp = [b"K%d=%s" % (i, b"v" * 100) for i in range(500)]
    sp = build_stack(stack, STACK_TOP, [b"p"], envp, [], b"p", RANDOM)
    _, _, envpp, _ = _decode(stack, sp)
    assert [stack.read_cstr(p) for p in envpp] == envp


def test_build_stack_without_stack_mapping_faults(aspace):
    with pytest.raises(EFault):
        build_stack(aspace, STACK_TOP, [b"p"], [], [], b"p", RANDOM)


# -- load_image on the real binaries ----------------------------------------------------

def _binary(pie):
    if not guestlib.zig_available():
        pytest.skip("ziglang is not installed (pip install ziglang)")
    return guestlib.build("hello", pie=pie).read_bytes()


@pytest.mark.parametrize("pie", [False, True], ids=["static", "static-pie"])
def test_load_image(aspace, pie):
    data = _binary(pie)
    img = parse(data)
    loaded = load_image(aspace, img, data)
    bias = PIE_BASE - (img.loads[0].vaddr & ~0xFFF) if img.type == ET_DYN else 0
    assert loaded.base == bias
    assert loaded.entry == img.entry + bias
    assert loaded.phnum == img.phnum
    assert loaded.brk == max(s.vaddr + s.memsz for s in img.loads) + bias
    # AT_PHDR points at the program headers, in memory.
    assert loaded.phdr
    ph = img.phnum * 56
    assert aspace.read(loaded.phdr, ph) == data[img.phoff:img.phoff + ph]
    for seg in img.loads:
        va = seg.vaddr + bias
        assert aspace.read(va, seg.filesz) == data[seg.offset:seg.offset + seg.filesz]
        if seg.memsz > seg.filesz:
            # .bss is zero.
            n = min(seg.memsz - seg.filesz, 4096)
            assert aspace.read(va + seg.filesz, n) == bytes(n)
        v = aspace.find(va)
        assert v is not None
        want = (1 if seg.flags & 4 else 0) | (2 if seg.flags & 2 else 0) | \
            (4 if seg.flags & 1 else 0)
        assert v.prot == want
    # Code is not writable.
    text = next(s for s in img.loads if s.flags & 1)
    with pytest.raises(EFault) as ei:
        aspace.write(text.vaddr + bias, b"\0")
    assert ei.value.code == ACCERR


def test_load_pie_at_other_base(aspace):
    data = _binary(True)
    img = parse(data)
    loaded = load_image(aspace, img, data, base=0x5555_0000_0000)
    assert loaded.base == 0x5555_0000_0000
    assert loaded.entry == 0x5555_0000_0000 + img.entry


def test_load_pie_with_entry_outside_segments_fails(aspace):
    data = bytearray(_binary(True))
    struct.pack_into("<Q", data, 24, 0x7000_0000)      # e_entry
    img = parse(bytes(data))                # ET_DYN: checked at load time
    with pytest.raises(ElfError, match="entry point"):
        load_image(aspace, img, bytes(data))
