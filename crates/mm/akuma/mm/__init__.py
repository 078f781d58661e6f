"""akuma.mm — physical frames, page tables and the MMU walk, VMAs, demand
paging, copy-on-write, and copy to/from user memory.

Lock order / lifetimes: there is one kernel thread; the TLB-fill callback
runs on it while guest code runs (GIL released) and touches only C state
(frames, the current page table, its VMA mirror)."""
import akuma.arch  # noqa: F401  (loads libunicorn first)

from akuma.mm.mmu import (  # noqa: E402
    FrameAllocator, PageTable, Mmu, EFault, OutOfMemory,
    PROT_READ, PROT_WRITE, PROT_EXEC, KIND_ANON, KIND_PAGER, KIND_ANON_SHARED,
    MAPERR, ACCERR, PAGER, OOM, ACCESS_READ, ACCESS_WRITE, ACCESS_FETCH,
)
from akuma.mm.vma import Vma, AddressSpace, PAGE_SIZE, page_align  # noqa: E402
from akuma.mm.filemap import PageCache, FileMapping, PastEof  # noqa: E402

__all__ = [
    "FrameAllocator", "PageTable", "Mmu", "EFault", "OutOfMemory",
    "PROT_READ", "PROT_WRITE", "PROT_EXEC", "KIND_ANON", "KIND_PAGER", "KIND_ANON_SHARED",
    "MAPERR", "ACCERR", "PAGER", "OOM", "ACCESS_READ", "ACCESS_WRITE", "ACCESS_FETCH",
    "Vma", "AddressSpace", "PAGE_SIZE", "page_align", "PageCache", "FileMapping", "PastEof",
]
