"""Per-process virtual memory areas and the address-space operations built
on them (mmap, munmap, mprotect, brk).  The VMA list lives here in Python
(split and merge are easy to read); every change is mirrored into the C page
table for the fill callback."""
from dataclasses import dataclass, replace

from akuma.mm.mmu import (PageTable, KIND_ANON, KIND_ANON_SHARED, PROT_READ, PROT_WRITE,
                          PROT_EXEC, ACCESS_READ)

PAGE_SIZE = 4096
USER_TOP = 1 << 48
# Where mmap places mappings without a hint (top-down, below the stack).
MMAP_BASE = 0x7F00_0000_0000
MMAP_MIN = 0x1_0000   # vm.mmap_min_addr


def page_align(n):
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


@dataclass
class Vma:
    start: int
    end: int
    prot: int
    kind: int = KIND_ANON
    name: str = ""        # for /proc/<pid>/maps: "[heap]", "[stack]", a path

    def __len__(self):
        return self.end - self.start


class AddressSpace:
    """A process's memory: its VMAs and page table."""

    def __init__(self, frames, on_tlb_stale=None):
        self._frames = frames
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
            if last and last.end == v.start and last.prot == v.prot \
                    and last.kind == v.kind and last.name == v.name:
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
                kept.append(replace(v, end=start))
            if v.end > end:
                kept.append(replace(v, start=end))
            removed.append(replace(v, start=max(v.start, start), end=min(v.end, end)))
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
    def map(self, start, length, prot, kind=KIND_ANON, name=""):
        """Map [start, start+length) replacing anything there (MAP_FIXED)."""
        end = start + page_align(length)
        if self._carve(start, end):
            self.pt.unmap(start, end)
        self.vmas.append(Vma(start, end, prot, kind, name))
        self._sync()
        return start

    def unmap(self, start, length):
        end = start + page_align(length)
        self._carve(start, end)
        self._sync()
        self.pt.unmap(start, end)

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
    def read(self, addr, n):
        return self.pt.read(addr, n)

    def write(self, addr, data):
        self.pt.write(addr, data)

    def read_cstr(self, addr, limit=4096):
        return self.pt.read_cstr(addr, limit)

    def buffers(self, addr, n, to_user):
        return self.pt.buffers(addr, n, to_user)

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
        child.brk_start, child.brk, child.mmap_base = self.brk_start, self.brk, self.mmap_base
        child._sync()
        self.pt.clone_into(child.pt)
        return child

    def release(self):
        """Drop every mapping (exit)."""
        self.vmas = []
        self._sync()
        self.pt.unmap(0, USER_TOP)

    @property
    def rss_pages(self):
        return self.pt.rss

    @property
    def size_bytes(self):
        return sum(len(v) for v in self.vmas)


__all__ = ["Vma", "AddressSpace", "PAGE_SIZE", "page_align", "PROT_READ", "PROT_WRITE",
           "PROT_EXEC"]
