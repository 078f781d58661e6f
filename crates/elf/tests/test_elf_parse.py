"""akuma.elf.parse on the real guest binaries and on malformed inputs: every
problem is an ElfError with a message a user can act on, never another
exception."""
import os
import struct
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from akuma.elf import (parse, ElfError, ET_EXEC, ET_DYN, EM_AARCH64, PT_LOAD, PT_INTERP,
                       PT_GNU_STACK, PT_PHDR)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests"))
import guestlib  # noqa: E402

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")


@pytest.fixture(scope="module")
def hello():
    if not guestlib.zig_available():
        pytest.skip("ziglang is not installed (pip install ziglang)")
    return guestlib.build("hello").read_bytes()


@pytest.fixture(scope="module")
def hello_pie():
    if not guestlib.zig_available():
        pytest.skip("ziglang is not installed (pip install ziglang)")
    return guestlib.build("hello", pie=True).read_bytes()


# -- a tiny, valid, hand-made ELF ---------------------------------------------------

def make_elf(segments=None, *, cls=2, data=1, machine=EM_AARCH64, etype=ET_EXEC,
             entry=None, phnum=None, phoff=64, phentsize=56, size=None, extra=()):
    """segments: (type, flags, offset, vaddr, filesz, memsz).  The file is
    large enough for every segment unless ``size`` says otherwise."""
    if segments is None:
        segments = [(PT_LOAD, 5, 0, 0x40_0000, 0x1000, 0x1000)]
    segments = list(segments) + list(extra)
    if entry is None:
        entry = segments[0][3] + 0x100 if segments else 0
    ident = b"\x7fELF" + bytes([cls, data, 1, 0]) + bytes(8)
    hdr = EHDR.pack(ident, etype, machine, 1, entry, phoff, 0, 0, 64, phentsize,
                    len(segments) if phnum is None else phnum, 64, 0, 0)
    ph = b"".join(PHDR.pack(t, f, o, v, v, fs, ms, 0x1000) for t, f, o, v, fs, ms in segments)
    need = max([phoff + len(ph)] + [o + fs for t, f, o, v, fs, ms in segments])
    blob = bytearray(max(need, 64) if size is None else size)
    blob[:64] = hdr[:len(blob)] if len(blob) < 64 else hdr
    if len(blob) >= phoff + len(ph):
        blob[phoff:phoff + len(ph)] = ph
    return bytes(blob)


def test_minimal_elf_parses():
    img = parse(make_elf())
    assert img.type == ET_EXEC
    assert img.entry == 0x40_0100
    assert [(s.type, s.vaddr, s.memsz) for s in img.loads] == [(PT_LOAD, 0x40_0000, 0x1000)]
    assert img.interp is None
    assert not img.is_pie


def test_interp_and_gnu_stack():
    interp = b"/lib/ld-linux-aarch64.so.1\0"
    blob = bytearray(make_elf(extra=[(PT_INTERP, 4, 0x200, 0x40_0200, len(interp), len(interp)),
                                     (PT_GNU_STACK, 7, 0, 0, 0, 0)]))
    blob[0x200:0x200 + len(interp)] = interp
    img = parse(bytes(blob))
    assert img.interp == "/lib/ld-linux-aarch64.so.1"
    assert img.exec_stack is True


def test_accepts_memoryview_and_bytearray():
    blob = make_elf()
    assert parse(memoryview(blob)).entry == parse(bytearray(blob)).entry == 0x40_0100


# -- real binaries ----------------------------------------------------------------

def _check_real(img):
    loads = img.loads
    assert loads
    assert img.interp is None
    assert any(s.vaddr <= img.entry < s.vaddr + s.memsz for s in loads)
    assert any(s.flags & 1 for s in loads), "an executable segment"
    assert img.phentsize == 56
    assert img.phnum == len(img.segments)
    for a, b in zip(loads, loads[1:]):
        assert a.vaddr + a.memsz <= b.vaddr


def test_real_static_binary(hello):
    img = parse(hello)
    assert img.type == ET_EXEC
    assert not img.is_pie
    _check_real(img)
    # The segment holding the entry point is executable.
    seg = next(s for s in img.loads if s.vaddr <= img.entry < s.vaddr + s.memsz)
    assert seg.flags & 1


def test_real_static_pie_binary(hello_pie):
    img = parse(hello_pie)
    assert img.type == ET_DYN
    assert img.is_pie
    _check_real(img)
    assert img.loads[0].vaddr == 0
    assert any(s.type == PT_PHDR for s in img.segments)


# -- malformed inputs ----------------------------------------------------------------

def _bad(blob, *words):
    with pytest.raises(ElfError) as ei:
        parse(blob)
    msg = str(ei.value)
    assert msg and "\n" not in msg
    for w in words:
        assert w.lower() in msg.lower(), msg
    return msg


def test_empty():
    _bad(b"", "not an ELF")


@pytest.mark.parametrize("blob", [b"#!/bin/sh\necho hi\n", b"\x7fEL", b"MZ" + bytes(100),
                                  b"\0" * 64])
def test_not_elf(blob):
    _bad(blob, "not an ELF")


def test_truncated_header():
    _bad(make_elf()[:40], "truncated")


def test_32_bit():
    _bad(make_elf(cls=1), "32-bit")


def test_big_endian():
    _bad(make_elf(data=2), "big-endian")


def test_x86_64():
    msg = _bad(make_elf(machine=62), "x86-64")
    assert "AArch64" in msg


@pytest.mark.parametrize("machine,name", [(40, "32-bit ARM"), (243, "RISC-V"), (3, "i386")])
def test_other_machines_are_named(machine, name):
    _bad(make_elf(machine=machine), name)


def test_unknown_machine_number():
    _bad(make_elf(machine=4242), "4242")


def test_relocatable_object():
    _bad(make_elf(etype=1), "relocatable")


def test_core_dump():
    _bad(make_elf(etype=4), "core")


def test_phnum_zero():
    _bad(make_elf(phnum=0), "0 program headers")


def test_too_many_phdrs():
    _bad(make_elf(phnum=10000), "program headers")


def test_bad_phentsize():
    _bad(make_elf(phentsize=32), "program header size")


def test_phoff_past_eof():
    _bad(make_elf(phoff=1 << 20, size=0x1000), "past end of file")


def test_phdrs_straddling_eof():
    blob = make_elf()
    _bad(blob[:64 + 30], "past end of file")


def test_filesz_greater_than_memsz():
    _bad(make_elf([(PT_LOAD, 5, 0, 0x40_0000, 0x2000, 0x1000)]), "file size exceeds memory size")


def test_segment_past_eof():
    blob = make_elf([(PT_LOAD, 5, 0, 0x40_0000, 0x3000, 0x3000)], size=0x1000)
    _bad(blob, "past end of file")


def test_segment_offset_overflow():
    _bad(make_elf([(PT_LOAD, 5, (1 << 64) - 16, 0x40_0000, 0x100, 0x100)], size=0x1000),
         "past end of file")


def test_overlapping_segments():
    segs = [(PT_LOAD, 5, 0, 0x40_0000, 0x1000, 0x2000),
            (PT_LOAD, 6, 0x1000, 0x40_1000, 0x100, 0x100)]
    _bad(make_elf(segs), "overlapping")


def test_overlapping_segments_out_of_order():
    segs = [(PT_LOAD, 6, 0x1000, 0x40_1000, 0x100, 0x100),
            (PT_LOAD, 5, 0, 0x40_0000, 0x1000, 0x2000)]
    _bad(make_elf(segs, entry=0x40_0100), "overlapping")


def test_vaddr_beyond_user_space():
    _bad(make_elf([(PT_LOAD, 5, 0, 1 << 48, 0x1000, 0x1000)], entry=(1 << 48) + 4),
         "outside the user address space")
    _bad(make_elf([(PT_LOAD, 5, 0, (1 << 48) - 0x1000, 0x1000, 0x2000)],
                  entry=(1 << 48) - 0x100), "outside the user address space")


def test_vaddr_wraps_around():
    _bad(make_elf([(PT_LOAD, 5, 0, (1 << 64) - 0x1000, 0x1000, 0x2000)], entry=4),
         "outside the user address space")


def test_incongruent_offset_and_vaddr():
    _bad(make_elf([(PT_LOAD, 5, 0x10, 0x40_0000, 0x100, 0x100)], entry=0x40_0010),
         "congruent")


def test_no_load_segment():
    _bad(make_elf([(PT_GNU_STACK, 6, 0, 0, 0, 0)], entry=0), "no loadable segment")


def test_entry_outside_segments():
    _bad(make_elf(entry=0x90_0000), "entry point")


def test_span_too_large():
    segs = [(PT_LOAD, 5, 0, 0x1000, 0x100, 0x100),
            (PT_LOAD, 6, 0x1000, 0xF000_0000_1000, 0x100, 0x100)]
    _bad(make_elf(segs), "span")


def test_bad_interp_without_nul():
    blob = bytearray(make_elf(extra=[(PT_INTERP, 4, 0x200, 0x40_0200, 8, 8)]))
    blob[0x200:0x208] = b"/lib/ldX"
    _bad(bytes(blob), "PT_INTERP")


def test_interp_too_long():
    _bad(make_elf(extra=[(PT_INTERP, 4, 0x100, 0x40_0100, 5000, 5000)], size=0x3000),
         "PT_INTERP")


def test_elf_error_is_an_exception_subclass():
    assert issubclass(ElfError, Exception)
    assert not issubclass(ElfError, (OSError, ValueError))


# -- fuzzing ----------------------------------------------------------------------

def _parse_or_elferror(blob):
    try:
        parse(blob)
    except ElfError as e:
        assert str(e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_real_binary_parses_or_raises_elferror(hello, data):
    n = len(hello)
    # Most of the interesting bytes are the headers (the first few KiB).
    edits = data.draw(st.lists(
        st.tuples(st.one_of(st.integers(0, 0x400), st.integers(0, n - 1)), st.integers(0, 255)),
        min_size=1, max_size=12))
    blob = bytearray(hello)
    for i, b in edits:
        blob[i] = b
    if data.draw(st.booleans()):
        blob = blob[:data.draw(st.one_of(st.integers(0, 0x400), st.integers(0, n)))]
    _parse_or_elferror(bytes(blob))


@settings(max_examples=300, deadline=None)
@given(header=st.binary(min_size=0, max_size=600))
def test_random_bytes_after_magic(header):
    _parse_or_elferror(b"\x7fELF" + header)
    _parse_or_elferror(header)


@settings(max_examples=300, deadline=None)
@given(segs=st.lists(st.tuples(st.sampled_from([PT_LOAD, PT_INTERP, PT_GNU_STACK, PT_PHDR, 99]),
                               st.integers(0, 7),
                               st.integers(0, (1 << 64) - 1),
                               st.integers(0, (1 << 64) - 1),
                               st.integers(0, (1 << 64) - 1),
                               st.integers(0, (1 << 64) - 1)),
                     min_size=1, max_size=6),
       entry=st.integers(0, (1 << 64) - 1), etype=st.sampled_from([ET_EXEC, ET_DYN]))
def test_random_program_headers(segs, entry, etype):
    # Small field values make more of them reach the deeper checks.
    segs = [(t, f, o % 0x3000 if o & 1 else o, v, fs % 0x3000 if fs & 1 else fs, ms)
            for t, f, o, v, fs, ms in segs]
    ph = b"".join(PHDR.pack(*s[:4], s[3], *s[4:], 0x1000) for s in segs)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    hdr = EHDR.pack(ident, etype, EM_AARCH64, 1, entry, 64, 0, 0, 64, 56, len(segs), 64, 0, 0)
    blob = (hdr + ph).ljust(0x3000, b"\0")
    _parse_or_elferror(blob)
