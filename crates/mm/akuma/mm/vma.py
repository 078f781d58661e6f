"""Per-process virtual memory areas and the address-space operations built
on them (mmap, munmap, mprotect, brk).  The VMA list lives here in Python
(split and merge are easy to read); every change is mirrored into the C page
table for the fill callback."""
from dataclasses import dataclass, replace

from akuma.mm.mmu import (PageTable, EFault, KIND_ANON, KIND_ANON_SHARED, KIND_PAGER, PROT_READ,
                          PROT_WRITE, PROT_EXEC, ACCESS_READ, ACCESS_WRITE, PAGER, MAPERR)
from akuma.mm.filemap import PastEof

PAGE_SIZE = 4096
USER_TOP = 1 << 48
# Where mmap places mappings without a hint (top-down, below the stack).
MMAP_BASE = 0x7F00_0000_0000
MMAP_MIN = 0x1_0000   # vm.mmap_min_addr
# Linux's stack_guard_gap: a growing stack keeps this far from the mapping below.
STACK_GUARD_GAP = 256 * 4096


def page_align(n):
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


@dataclass
class Vma:
    start: int
    end: int
    prot: int
    kind: int = KIND_ANON
    name: str = ""        # for /proc/<pid>/maps: "[heap]", "[stack]", a path
    file: object = None   # FileMapping of a file VMA (kind PAGER)
    pgoff: int = 0        # file offset of ``start``
    limit: int = None     # file bytes at or past this offset read as zeros (ELF filesz)
    growsdown: bool = False   # the main stack, MAP_GROWSDOWN: extended by faults below

    def __len__(self):
        return self.end - self.start

    def piece(self, start, end):
        """The part [start, end) of this VMA (its file offset follows)."""
        return replace(self, start=start, end=end, pgoff=self.pgoff + (start - self.start))

    def follows(self, prev):
        """Whether this VMA continues ``prev`` exactly (they can merge)."""
        return prev.end == self.start and prev.prot == self.prot and prev.kind == self.kind \
            and prev.name == self.name and prev.file is self.file and \
            prev.limit == self.limit and prev.growsdown == self.growsdown and \
            (self.file is None or prev.pgoff + len(prev) == self.pgoff)


class AddressSpace:
    """A process's memory: its VMAs and page table."""

    def __init__(self, frames, on_tlb_stale=None):
        self._frames = frames
        self.frames = frames
        self.ram = frames.ram_view()
        self.stack_limit = 8 << 20      # RLIMIT_STACK, for stack growth by kernel copies
        self.pt = PageTable(frames)
        self.pt.on_tlb_stale = on_tlb_stale
        self.vmas = []
        self.brk_start = self.brk = 0
        self.mmap_base = MMAP_BASE

    # -- bookkeeping ---------------------------------------------------------
    def _sync(self):
        self.vmas.sort(key=lambda v: v.start)
        merged = []
        for v in self.vmas:
            last = merged[-1] if merged else None
            if last and v.follows(last):
                last.end = v.end
            else:
                merged.append(v)
        self.vmas = merged
        self.pt.set_vmas([(v.start, v.end, v.prot, v.kind) for v in merged])

    def find(self, addr):
        for v in self.vmas:
            if v.start <= addr < v.end:
                return v
        return None

    def overlaps(self, start, end):
        return any(v.start < end and start < v.end for v in self.vmas)

    def _carve(self, start, end):
        """Remove [start, end) from the VMA list, splitting as needed; return
        the removed pieces."""
        kept, removed = [], []
        for v in self.vmas:
            if v.end <= start or v.start >= end:
                kept.append(v)
                continue
            if v.start < start:
                kept.append(v.piece(v.start, start))
            if v.end > end:
                kept.append(v.piece(end, v.end))
            removed.append(v.piece(max(v.start, start), min(v.end, end)))
        self.vmas = kept
        return removed

    def free_range(self, length, hint=0):
        """A free, page-aligned [start, start+length), top-down from the
        mmap base unless ``hint`` is free."""
        if hint and hint >= MMAP_MIN and hint + length <= USER_TOP \
                and not self.overlaps(hint, hint + length):
            return hint
        top = self.mmap_base
        for v in sorted(self.vmas, key=lambda v: -v.end):
            if v.start >= top:
                continue
            if v.end <= top - length:
                break
            top = min(top, v.start)
        start = top - length
        return start if start >= MMAP_MIN else None

    # -- operations -------------------------------------------------------------
    def map(self, start, length, prot, kind=KIND_ANON, name="", file=None, pgoff=0,
            limit=None, growsdown=False):
        """Map [start, start+length) replacing anything there (MAP_FIXED).
        ``file``: a FileMapping, its page at ``pgoff`` mapped at ``start``."""
        end = start + page_align(length)
        removed = self._carve(start, end)
        if removed:
            self._flush_files(removed)
            self.pt.unmap(start, end)
        if file is not None:
            kind = KIND_PAGER
            if file.shared:
                file.cache.mappers.add(self)
        self.vmas.append(Vma(start, end, prot, kind, name, file, pgoff, limit, growsdown))
        self._sync()
        self._release_caches(removed)
        return start

    def unmap(self, start, length):
        end = start + page_align(length)
        removed = self._carve(start, end)
        self._flush_files(removed)
        self._sync()
        self.pt.unmap(start, end)
        self._release_caches(removed)

    # -- file mappings -------------------------------------------------------------------
    @staticmethod
    def _flush_files(vmas):
        """Shared file pages reach the file when their mapping goes."""
        for v in vmas:
            if v.file is not None and v.file.shared:
                v.file.cache.writeback(v.pgoff // PAGE_SIZE, (v.pgoff + len(v) - 1) // PAGE_SIZE)

    def _release_caches(self, removed):
        for v in removed:
            if v.file is not None and v.file.shared:
                release_if_unmapped(v.file.cache)

    def msync(self, start, end):
        """Write back the shared file pages of [start, end); False if part
        of the range is unmapped (ENOMEM)."""
        covered = 0
        for v in self.vmas:
            if v.start < end and start < v.end:
                lo, hi = max(v.start, start), min(v.end, end)
                covered += hi - lo
                if v.file is not None and v.file.shared:
                    first = (v.pgoff + lo - v.start) // PAGE_SIZE
                    v.file.cache.writeback(first, first + (hi - lo - 1) // PAGE_SIZE)
        return covered == end - start

    def shared_caches(self):
        return {id(v.file.cache): v.file.cache for v in self.vmas
                if v.file is not None and v.file.shared}.values()

    # -- faults that need Python ---------------------------------------------------------
    def handle_fault(self, addr, access, code, stack_limit):
        """Resolve a fault the fill callback refused: page in a file page
        (PAGER) or grow a stack (MAPERR below a grows-down VMA).  Returns
        None when resolved, else "SIGBUS" or "SIGSEGV"."""
        page = addr & ~(PAGE_SIZE - 1)
        if code == PAGER:
            v = self.find(page)
            if v is None or v.file is None:
                return "SIGSEGV"
            index = (v.pgoff + page - v.start) // PAGE_SIZE
            try:
                v.file.page_in(self, page, index, v.prot, access == ACCESS_WRITE, v.limit)
            except PastEof:
                return "SIGBUS"
            return None
        if self.grow_stack(page, stack_limit):
            return None
        return "SIGSEGV"

    def grow_stack(self, page, limit):
        """Extend the grows-down VMA just above ``page`` down to it, within
        ``limit`` bytes and keeping the guard gap to the mapping below."""
        above = min((v for v in self.vmas if v.start > page), key=lambda v: v.start, default=None)
        if above is None or not above.growsdown or above.end - page > limit:
            return False
        below = max((v.end for v in self.vmas if v.end <= page), default=0)
        if below and page - below < STACK_GUARD_GAP:
            return False
        above.start = page
        self._sync()
        return True

    def _pager_retry(self, op):
        """Run a copy ``op``; a not-yet-present file page or a stack page
        below the extent is brought in like the CPU's fault would."""
        for _ in range(1 << 16):
            try:
                return op()
            except EFault as e:
                if e.code not in (PAGER, MAPERR) or \
                        self.handle_fault(e.addr, ACCESS_WRITE, e.code, self.stack_limit):
                    raise
        raise EFault(0, PAGER)

    def protect(self, start, length, prot):
        """False if part of the range is unmapped (ENOMEM)."""
        end = start + page_align(length)
        covered = sum(min(v.end, end) - max(v.start, start)
                      for v in self.vmas if v.start < end and start < v.end)
        if covered != end - start:
            return False
        for piece in self._carve(start, end):
            piece.prot = prot
            self.vmas.append(piece)
        self._sync()
        self.pt.protect(start, end, prot)
        return True

    def set_brk(self, new):
        """Move the program break; returns the break in effect."""
        if new < self.brk_start:
            return self.brk
        old_end, new_end = page_align(self.brk), page_align(new)
        if new_end > old_end:
            if self.overlaps(old_end, new_end):
                return self.brk
            self.map(old_end, new_end - old_end, PROT_READ | PROT_WRITE, name="[heap]")
        elif new_end < old_end:
            self.unmap(new_end, old_end - new_end)
        self.brk = new
        return self.brk

    # -- copy-in / copy-out (the single door to user memory) ----------------------
    # Each tries the page table first: the pager (and its closure) only when
    # a page needs bringing in.  These run on every syscall that takes a
    # pointer.
    def read(self, addr, n):
        try:
            return self.pt.read(addr, n)
        except EFault:
            return self._pager_retry(lambda: self.pt.read(addr, n))

    def write(self, addr, data):
        try:
            self.pt.write(addr, data)
        except EFault:
            self._pager_retry(lambda: self.pt.write(addr, data))

    def read_cstr(self, addr, limit=4096):
        try:
            return self.pt.read_cstr(addr, limit)
        except EFault:
            return self._pager_retry(lambda: self.pt.read_cstr(addr, limit))

    def buffers(self, addr, n, to_user):
        try:
            return self.pt.buffers(addr, n, to_user)
        except EFault:
            return self._pager_retry(lambda: self.pt.buffers(addr, n, to_user))

    def translate(self, addr, access=ACCESS_READ):
        try:
            return self.pt.translate(addr, access)
        except EFault:
            return self._pager_retry(lambda: self.pt.translate(addr, access))

    def fork(self):
        """A copy-on-write duplicate (fork): same VMAs and break, pages
        shared until either side writes."""
        # Shared anonymous pages must exist before the copy so that both
        # sides map the same frames (Linux shares the shmem object).
        for v in self.vmas:
            if v.kind == KIND_ANON_SHARED and v.prot:
                self.pt.populate(v.start, v.end, ACCESS_READ)
        child = AddressSpace(self._frames, on_tlb_stale=self.pt.on_tlb_stale)
        child.vmas = [replace(v) for v in self.vmas]
        for c in self.shared_caches():
            c.mappers.add(child)
        child.brk_start, child.brk, child.mmap_base = self.brk_start, self.brk, self.mmap_base
        child.stack_limit = self.stack_limit
        child._sync()
        self.pt.clone_into(child.pt)
        return child

    def release(self):
        """Drop every mapping (exit)."""
        removed, self.vmas = self.vmas, []
        self._flush_files(removed)
        self._sync()
        self.pt.unmap(0, USER_TOP)
        self._release_caches(removed)

    @property
    def rss_pages(self):
        return self.pt.rss

    @property
    def size_bytes(self):
        return sum(len(v) for v in self.vmas)


def drop_file_pages(cache, first):
    """Take pages ``first``.. of a cached file out of every shared mapping
    (the file shrank: the next access there is past EOF)."""
    for a in list(cache.mappers):
        for v in a.vmas:
            if v.file is not None and v.file.cache is cache and v.file.shared:
                lo = v.start + max(0, first * PAGE_SIZE - v.pgoff)
                if lo < v.end:
                    a.pt.unmap(lo, v.end)


def release_if_unmapped(cache):
    """Drop a regular file's page cache once no address space maps it shared
    (its dirty pages are written back first); a memfd keeps its frames."""
    if cache.store is None:
        return
    for a in list(cache.mappers):
        if any(v.file is not None and v.file.cache is cache and v.file.shared for v in a.vmas):
            return
    cache.release()
    if cache.on_unused is not None:
        cache.on_unused()


__all__ = ["Vma", "AddressSpace", "PAGE_SIZE", "page_align", "PROT_READ", "PROT_WRITE",
           "PROT_EXEC"]
