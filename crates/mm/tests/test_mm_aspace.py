"""akuma.mm: frames, page tables, VMAs and the copy-in/copy-out door, driven
through AddressSpace on a real Cpu's RAM."""
import pytest

from akuma.arch import Cpu
from akuma.mm import (FrameAllocator, Mmu, AddressSpace, EFault, OutOfMemory, PageTable,
                      PROT_READ, PROT_WRITE, PROT_EXEC, KIND_ANON, KIND_PAGER, MAPERR, ACCERR, PAGER,
                      PAGE_SIZE, page_align, Vma)
from akuma.mm.vma import MMAP_BASE, MMAP_MIN, USER_TOP

MiB = 1 << 20
RW = PROT_READ | PROT_WRITE
P = PAGE_SIZE
BASE = 0x10_0000


class Env:
    def __init__(self, mem=32 * MiB):
        self.cpu = Cpu(mem)
        self.frames = FrameAllocator(self.cpu)
        self.mmu = Mmu(self.cpu, self.frames)
        self.stale = 0
        self.aspace = AddressSpace(self.frames, on_tlb_stale=self._on_stale)
        self.mmu.switch(self.aspace.pt)

    def _on_stale(self):
        self.stale += 1
        self.mmu.sync()


@pytest.fixture
def env():
    return Env()


@pytest.fixture
def a(env):
    return env.aspace


def spans(aspace):
    return [(v.start, v.end, v.prot) for v in aspace.vmas]


# -- basics ----------------------------------------------------------------------

def test_page_align():
    assert page_align(0) == 0
    assert page_align(1) == P
    assert page_align(P) == P
    assert page_align(P + 1) == 2 * P


def test_frame_allocator_reserves_frame_zero(env):
    f = env.frames
    assert f.total == 32 * MiB // P
    assert f.free == f.total - 1
    assert f.refcount(0) == 1


def test_map_and_round_trip(a):
    assert a.map(BASE, 2 * P, RW) == BASE
    assert spans(a) == [(BASE, BASE + 2 * P, RW)]
    a.write(BASE + 10, b"hello")
    assert a.read(BASE + 10, 5) == b"hello"
    assert a.find(BASE + P).start == BASE
    assert a.find(BASE + 2 * P) is None
    assert a.size_bytes == 2 * P


def test_map_rounds_length_up_to_pages(a):
    a.map(BASE, 1, RW)
    assert spans(a) == [(BASE, BASE + P, RW)]


def test_round_trip_across_page_boundaries(a):
    a.map(BASE, 4 * P, RW)
    data = bytes(range(256)) * 40          # 10240 bytes, spans 3+ pages
    a.write(BASE + P - 7, data)
    assert a.read(BASE + P - 7, len(data)) == data
    # A piece read back on its own, straddling the next boundary, agrees.
    start = BASE + P - 7
    piece = BASE + 2 * P - 3
    assert a.read(piece, 6) == data[piece - start:piece - start + 6]
    # Bytes around the write are untouched zeros.
    assert a.read(start - 4, 4) == bytes(4)
    assert a.read(start + len(data), 4) == bytes(4)


def test_zero_length_copies(a):
    a.write(0x5000, b"")          # nothing mapped, nothing touched
    assert a.read(0x5000, 0) == b""


def test_unmapped_read_raises_efault_with_addr(a):
    a.map(BASE, P, RW)
    with pytest.raises(EFault) as ei:
        a.read(BASE + P + 123, 4)
    assert ei.value.addr == BASE + P + 123
    assert ei.value.code == MAPERR


def test_read_running_off_the_end_faults_at_the_next_page(a):
    a.map(BASE, P, RW)
    with pytest.raises(EFault) as ei:
        a.read(BASE + P - 2, 4)
    assert ei.value.addr == BASE + P
    assert ei.value.code == MAPERR


def test_write_to_read_only_mapping_is_accerr(a, env):
    a.map(BASE, P, PROT_READ)
    free = env.frames.free
    with pytest.raises(EFault) as ei:
        a.write(BASE + 8, b"x")
    assert ei.value.addr == BASE + 8
    assert ei.value.code == ACCERR
    assert env.frames.free == free      # a refused access allocates nothing
    assert a.read(BASE, 8) == bytes(8)


def test_prot_none_refuses_reads(a):
    a.map(BASE, P, 0)
    with pytest.raises(EFault) as ei:
        a.read(BASE, 1)
    assert ei.value.code == ACCERR


def test_exec_only_mapping_is_readable(a):
    # AArch64 Linux: any accessible page is readable.
    a.map(BASE, P, PROT_EXEC)
    assert a.read(BASE, 4) == bytes(4)


def test_addresses_beyond_user_space_fault(a):
    with pytest.raises(EFault):
        a.read(USER_TOP - 2, 4)
    with pytest.raises(EFault):
        a.write((1 << 64) - 2, b"abcd")
    with pytest.raises(EFault):
        a.buffers((1 << 64) - 2, 4, False)


# -- demand paging -----------------------------------------------------------------

def test_demand_zero_allocates_only_touched_pages(a, env):
    free = env.frames.free
    a.map(BASE, 64 * P, RW)
    assert env.frames.free == free
    assert a.rss_pages == 0
    assert a.read(BASE + 5 * P, P) == bytes(P)
    a.write(BASE + 9 * P + 100, b"x")
    a.write(BASE + 20 * P - 1, b"yz")      # two pages
    assert env.frames.free == free - 4
    assert a.rss_pages == 4
    # Touching again allocates nothing more.
    a.write(BASE + 9 * P, b"again")
    assert env.frames.free == free - 4


def test_unmap_frees_frames(a, env):
    free = env.frames.free
    a.map(BASE, 8 * P, RW)
    a.write(BASE, b"\1" * (8 * P))
    assert env.frames.free == free - 8
    a.unmap(BASE, 8 * P)
    assert env.frames.free == free
    assert a.rss_pages == 0
    assert a.vmas == []
    with pytest.raises(EFault):
        a.read(BASE, 1)


def test_partial_unmap_splits_and_frees(a, env):
    free = env.frames.free
    a.map(BASE, 4 * P, RW)
    a.write(BASE, b"A" * (4 * P))
    a.unmap(BASE + P, 2 * P)
    assert spans(a) == [(BASE, BASE + P, RW), (BASE + 3 * P, BASE + 4 * P, RW)]
    assert env.frames.free == free - 2
    assert a.read(BASE + 3 * P, 2) == b"AA"
    with pytest.raises(EFault):
        a.read(BASE + 2 * P, 1)


def test_unmap_calls_tlb_stale_hook(env, a):
    a.map(BASE, P, RW)
    before = env.stale
    a.unmap(BASE, P)            # nothing present: nothing cached either
    a.map(BASE, P, RW)
    a.write(BASE, b"x")
    a.unmap(BASE, P)
    assert env.stale > before


def test_reused_frames_come_back_zeroed(a):
    a.map(BASE, P, RW)
    a.write(BASE, b"\xff" * P)
    a.unmap(BASE, P)
    a.map(BASE + 16 * P, P, RW)
    assert a.read(BASE + 16 * P, P) == bytes(P)


def test_map_fixed_replaces_and_frees(a, env):
    free = env.frames.free
    a.map(BASE, 2 * P, RW)
    a.write(BASE, b"old" * 100)
    a.map(BASE, 2 * P, PROT_READ, name="new")
    assert env.frames.free == free
    assert a.read(BASE, 3) == bytes(3)
    assert [(v.start, v.end, v.prot, v.name) for v in a.vmas] == \
        [(BASE, BASE + 2 * P, PROT_READ, "new")]


def test_pager_kind_is_refused_to_the_kernel(a):
    a.map(BASE, P, RW, kind=KIND_PAGER)
    with pytest.raises(EFault) as ei:
        a.read(BASE, 1)
    assert ei.value.code == PAGER


# -- protect ----------------------------------------------------------------------

def test_protect_splits_and_merges(a):
    a.map(BASE, 4 * P, RW)
    assert a.protect(BASE + P, P, PROT_READ)
    assert spans(a) == [(BASE, BASE + P, RW), (BASE + P, BASE + 2 * P, PROT_READ),
                        (BASE + 2 * P, BASE + 4 * P, RW)]
    assert a.protect(BASE + P, P, RW)
    assert spans(a) == [(BASE, BASE + 4 * P, RW)]


def test_protect_over_two_vmas_merges_them(a):
    a.map(BASE, P, PROT_READ)
    a.map(BASE + P, P, RW)
    assert len(a.vmas) == 2
    assert a.protect(BASE, 2 * P, PROT_READ)
    assert spans(a) == [(BASE, BASE + 2 * P, PROT_READ)]


def test_adjacent_maps_with_different_names_stay_apart(a):
    a.map(BASE, P, RW, name="a")
    a.map(BASE + P, P, RW, name="b")
    assert len(a.vmas) == 2


def test_protect_unmapped_hole_fails_and_changes_nothing(a):
    a.map(BASE, P, RW)
    a.map(BASE + 2 * P, P, RW)
    before = spans(a)
    assert a.protect(BASE, 3 * P, PROT_READ) is False
    assert spans(a) == before


def test_protect_downgrades_present_pages(a):
    a.map(BASE, 2 * P, RW)
    a.write(BASE, b"keep")
    assert a.protect(BASE, 2 * P, PROT_READ)
    with pytest.raises(EFault) as ei:
        a.write(BASE, b"x")
    assert ei.value.code == ACCERR
    assert a.read(BASE, 4) == b"keep"
    assert a.protect(BASE, 2 * P, RW)
    a.write(BASE, b"KEEP")
    assert a.read(BASE, 4) == b"KEEP"


def test_protect_none_on_present_page(a):
    a.map(BASE, P, RW)
    a.write(BASE, b"z")
    assert a.protect(BASE, P, 0)
    with pytest.raises(EFault):
        a.read(BASE, 1)


# -- free_range, brk ---------------------------------------------------------------

def test_free_range_top_down_and_non_overlapping(a):
    got = []
    for n in (P, 3 * P, 16 * P, P):
        start = a.free_range(n)
        assert start % P == 0
        assert start + n <= MMAP_BASE
        assert not a.overlaps(start, start + n)
        a.map(start, n, RW)
        got.append((start, start + n))
    for i, (s1, e1) in enumerate(got):
        for s2, e2 in got[i + 1:]:
            assert e1 <= s2 or e2 <= s1
    assert got[0] == (MMAP_BASE - P, MMAP_BASE)


def test_free_range_finds_a_hole_below_mappings(a):
    a.map(MMAP_BASE - 4 * P, 4 * P, RW)
    s = a.free_range(2 * P)
    assert s == MMAP_BASE - 6 * P


def test_free_range_hint(a):
    assert a.free_range(P, hint=0x4000_0000) == 0x4000_0000
    a.map(0x4000_0000, P, RW)
    s = a.free_range(P, hint=0x4000_0000)
    assert s != 0x4000_0000 and not a.overlaps(s, s + P)
    # Below mmap_min_addr a hint is ignored.
    assert a.free_range(P, hint=0x1000) != 0x1000


def test_free_range_exhausted(a):
    a.mmap_base = MMAP_MIN + 2 * P
    assert a.free_range(2 * P) == MMAP_MIN
    assert a.free_range(4 * P) is None


def test_set_brk_grows_and_shrinks(a, env):
    a.brk_start = a.brk = 0x60_0000
    assert a.set_brk(0) == 0x60_0000             # query
    assert a.set_brk(0x60_0000 + 5000) == 0x60_0000 + 5000
    assert [(v.start, v.end, v.name) for v in a.vmas] == [(0x60_0000, 0x60_2000, "[heap]")]
    a.write(0x60_0000, b"h" * 5000)
    free = env.frames.free
    assert a.set_brk(0x60_0000 + 100) == 0x60_0000 + 100
    assert spans(a) == [(0x60_0000, 0x60_1000, RW)]
    assert env.frames.free == free + 1
    assert a.read(0x60_0000, 100) == b"h" * 100
    assert a.set_brk(0x60_0000) == 0x60_0000
    assert a.vmas == []


def test_set_brk_below_start_is_refused(a):
    a.brk_start = a.brk = 0x60_0000
    a.set_brk(0x60_3000)
    assert a.set_brk(0x50_0000) == 0x60_3000


def test_set_brk_into_a_mapping_is_refused(a):
    a.brk_start = a.brk = 0x60_0000
    a.map(0x60_4000, P, PROT_READ)
    assert a.set_brk(0x60_8000) == 0x60_0000
    assert spans(a) == [(0x60_4000, 0x60_5000, PROT_READ)]


# -- strings and buffers --------------------------------------------------------

def test_read_cstr(a):
    a.map(BASE, 2 * P, RW)
    a.write(BASE, b"hello\0world\0")
    assert a.read_cstr(BASE) == b"hello"
    assert a.read_cstr(BASE + 6) == b"world"
    assert a.read_cstr(BASE, 5) == b"hello"      # at most limit bytes, NUL excluded
    assert a.read_cstr(BASE, 4) is None
    assert a.read_cstr(BASE + 5, 0) == b""


def test_read_cstr_across_pages(a):
    a.map(BASE, 3 * P, RW)
    s = b"x" * 6000
    a.write(BASE + 100, s + b"\0")
    assert a.read_cstr(BASE + 100, 8192) == s
    assert a.read_cstr(BASE + 100, 5999) is None
    assert a.read_cstr(BASE + 100, 5000) is None


def test_read_cstr_unmapped_faults(a):
    with pytest.raises(EFault):
        a.read_cstr(BASE, 10)
    a.map(BASE, P, RW)
    a.write(BASE + P - 3, b"abc")
    with pytest.raises(EFault) as ei:
        a.read_cstr(BASE + P - 3, 100)
    assert ei.value.addr == BASE + P


def test_read_cstr_reads_the_terminator_after_limit_bytes(a):
    # ``limit`` is the longest string allowed, so the byte after it (its NUL)
    # is read, as strncpy_from_user(count = limit + 1) does: an unmapped page
    # there is EFAULT; a non-NUL byte there is "too long".
    a.map(BASE, P, RW)
    a.write(BASE, b"A" * P)            # no NUL; the next page is unmapped
    with pytest.raises(EFault):
        a.read_cstr(BASE, P)
    assert a.read_cstr(BASE, P - 1) is None
    a.write(BASE + P - 1, b"\0")
    assert a.read_cstr(BASE, P - 1) == b"A" * (P - 1)


def test_buffers_alias_memory(a):
    a.map(BASE, 4 * P, RW)
    n = 3 * P - 200
    views = a.buffers(BASE + 100, n, True)
    assert sum(len(v) for v in views) == n
    assert all(isinstance(v, memoryview) for v in views)
    pattern = bytes((i * 7) & 0xFF for i in range(n))
    off = 0
    for v in views:
        v[:] = pattern[off:off + len(v)]
        off += len(v)
    assert a.read(BASE + 100, n) == pattern
    # And the other way: bytes written by the kernel show in fresh read views.
    a.write(BASE + 100, b"Z" * 10)
    rviews = a.buffers(BASE + 100, 10, False)
    assert b"".join(bytes(v) for v in rviews) == b"Z" * 10


def test_buffers_merge_physically_contiguous_pages(a):
    a.map(BASE, 4 * P, RW)
    views = a.buffers(BASE, 4 * P, True)
    # Fresh frames come from the bottom up: consecutive pages touched in
    # order get consecutive frames, merged into one view.
    assert len(views) == 1
    assert sum(len(v) for v in views) == 4 * P


def test_buffers_check_rights(a):
    a.map(BASE, P, PROT_READ)
    assert sum(len(v) for v in a.buffers(BASE, 10, False)) == 10
    with pytest.raises(EFault) as ei:
        a.buffers(BASE, 10, True)
    assert ei.value.code == ACCERR
    with pytest.raises(EFault):
        a.buffers(BASE + P, 10, False)


# -- page-table operations ------------------------------------------------------------

def test_page_table_move(a, env):
    src, dst = BASE, BASE + 64 * P
    a.map(src, 2 * P, RW)
    a.write(src, b"S" * P + b"T" * P)
    a.map(dst, 2 * P, RW)
    free, rss = env.frames.free, a.rss_pages
    pa0 = a.pt.translate(src)
    a.pt.move(src, dst, 2 * P)
    assert env.frames.free == free          # frames move, nothing is copied
    assert a.pt.translate(dst) == pa0
    assert a.read(dst, P) == b"S" * P
    assert a.read(dst + P, P) == b"T" * P
    a.unmap(src, 2 * P)
    a.unmap(dst, 2 * P)
    assert env.frames.free == free + 2


def test_translate_and_populate(a, env):
    a.map(BASE, 4 * P, RW)
    free = env.frames.free
    a.pt.populate(BASE, BASE + 4 * P)
    assert env.frames.free == free - 4
    assert a.rss_pages == 4
    pa = a.pt.translate(BASE + 5)
    assert pa % P == 5
    a.write(BASE + 5, b"Q")
    assert bytes(env.cpu.ram_view()[pa:pa + 1]) == b"Q"
    assert env.frames.refcount(pa - 5) == 1
    with pytest.raises(EFault):
        a.pt.translate(BASE + 8 * P)


def test_populate_read_only_for_write_faults(a):
    a.map(BASE, P, PROT_READ)
    with pytest.raises(EFault):
        a.pt.populate(BASE, BASE + P)


def test_take_fault_is_cleared_by_kernel_accesses(a):
    with pytest.raises(EFault):
        a.read(BASE, 1)
    # A refused kernel access must not look like a CPU fault afterwards.
    assert a.pt.take_fault()[2] == 0


def test_release_returns_every_frame(env):
    a = env.aspace
    free = env.frames.free
    a.map(BASE, 10 * P, RW)
    a.map(0x7000_0000, 3 * P, RW)
    a.write(BASE, b"1" * (10 * P))
    a.write(0x7000_0000, b"2" * (3 * P))
    assert env.frames.free == free - 13
    a.release()
    assert env.frames.free == free
    assert a.vmas == [] and a.rss_pages == 0


def test_two_address_spaces_are_isolated(env):
    a1 = env.aspace
    a2 = AddressSpace(env.frames)
    a1.map(BASE, P, RW)
    a2.map(BASE, P, RW)
    a1.write(BASE, b"one")
    a2.write(BASE, b"two")
    assert a1.read(BASE, 3) == b"one"
    assert a2.read(BASE, 3) == b"two"
    a2.release()
    assert a1.read(BASE, 3) == b"one"


def test_dropping_a_page_table_frees_its_frames(env):
    free = env.frames.free
    pt = PageTable(env.frames)
    pt.set_vmas([(BASE, BASE + 4 * P, RW, KIND_ANON)])
    pt.populate(BASE, BASE + 4 * P)
    assert env.frames.free == free - 4
    del pt
    assert env.frames.free == free


# -- out of memory ----------------------------------------------------------------

def test_out_of_memory_is_an_exception_not_a_crash():
    e = Env(16 * MiB)
    a = e.aspace
    total_free = e.frames.free
    npages = total_free + 100
    a.map(BASE, npages * P, RW)
    with pytest.raises(OutOfMemory):
        a.pt.populate(BASE, BASE + npages * P)
    assert e.frames.free == 0
    assert a.rss_pages == total_free
    # Kernel copies report it the same way.
    with pytest.raises(OutOfMemory):
        a.write(BASE + (npages - 1) * P, b"x")
    # Memory already given is intact and usable.
    a.write(BASE, b"still here")
    assert a.read(BASE, 10) == b"still here"
    a.release()
    assert e.frames.free == total_free
    a.map(BASE, P, RW)
    a.write(BASE, b"ok")
    assert a.read(BASE, 2) == b"ok"


def test_vma_len():
    assert len(Vma(BASE, BASE + 3 * P, RW)) == 3 * P
