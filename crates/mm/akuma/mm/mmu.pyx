# cython: language_level=3
"""The MMU: physical frames with refcounts, per-process page tables kept in C
structures, the TLB-fill callback that is the MMU walk (demand-zero paging and
copy-on-write happen inside it), and the kernel's copy-in/copy-out.

Everything that runs per access or per page is ``nogil`` C; Python only sees
whole operations (map a range, copy a buffer)."""
cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport calloc, malloc, free, realloc
from libc.string cimport memset, memcpy, memchr

cdef extern from "sys/mman.h" nogil:
    int madvise(void *addr, size_t length, int advice)

from akuma.arch.uc cimport *
from akuma.arch.cpu cimport Cpu

cdef extern from *:
    """
    #define MM_PAGE 4096ULL
    #define MM_ENTRIES 512
    #define MM_USER_TOP (1ULL << 48)
    #define MM_ADDR_MASK 0x0000FFFFFFFFF000ULL
    #define MM_CODE_DIRTY_MAX 4096
    /* Virtual window onto physical memory, open only while the kernel asks
       unicorn to drop translated code of a physical frame
       (uc_ctl_remove_cache takes virtual addresses and translates them
       through the fill callback). */
    #define MM_KWIN 0x0100000000000000ULL
    /* The pages uc_emu_start probes around its `until` address
       (akuma.arch's STOP_ADDR 0xFFFFFFFFFFFFF000 and the page below). */
    #define MM_PROBE_PAGE 0xFFFFFFFFFFFFE000ULL
    """
    const uint64_t PAGE "MM_PAGE"
    const int ENTRIES "MM_ENTRIES"
    const uint64_t USER_TOP "MM_USER_TOP"
    const uint64_t ADDR_MASK "MM_ADDR_MASK"
    const uint32_t CODE_DIRTY_MAX "MM_CODE_DIRTY_MAX"
    const uint64_t KWIN "MM_KWIN"
    const uint64_t PROBE_PAGE "MM_PROBE_PAGE"

PROT_READ = 1
PROT_WRITE = 2
PROT_EXEC = 4
KIND_ANON = VMA_ANON
KIND_PAGER = VMA_PAGER
KIND_ANON_SHARED = VMA_ANON_SHARED
MAPERR = FAULT_MAPERR
ACCERR = FAULT_ACCERR
PAGER = FAULT_PAGER
OOM = FAULT_OOM
ACCESS_READ = UC_MEM_READ
ACCESS_WRITE = UC_MEM_WRITE
ACCESS_FETCH = UC_MEM_FETCH


class EFault(Exception):
    """A kernel access to user memory hit an unmapped or forbidden page."""

    def __init__(self, addr, code):
        super().__init__(f"bad user address {addr:#x}")
        self.addr = addr
        self.code = code


class OutOfMemory(Exception):
    """No free physical frame."""


# The Mmu's two TLBs (Mmu.switch).
cdef enum:
    SLOT_NS = 0       # Non-secure EL0 translations (mmu index E10_0)
    SLOT_S = 1        # Secure EL0 translations (SE10_0)

# ---------------------------------------------------------------- frames

cdef enum:
    USED = 1                        # Frames.used: handed out since the host mapped it
    USED_CODE = 2                   # ... and mapped executable since (code-cache flushes)

cdef inline int64_t frame_alloc(Frames *f) noexcept nogil:
    """A zeroed frame's physical address, or -1."""
    cdef uint32_t n
    if f.nfree == 0:
        return -1
    f.nfree -= 1
    n = f.free_stack[f.nfree]
    f.refcnt[n] = 1
    if n > f.high:
        f.high = n
    if f.used[n]:
        memset(f.ram + <uint64_t>n * PAGE, 0, PAGE)
    # A frame never used is still as the host's anonymous mmap made it: zero,
    # and untouched (zeroing it would only add a write to the host's
    # first-touch fault).
    f.used[n] = USED
    return <int64_t>n * PAGE

cdef inline bint frame_put(Frames *f, uint64_t paddr) noexcept nogil:
    """Drop a reference; True if the frame became free."""
    cdef uint32_t n = <uint32_t>(paddr // PAGE)
    if f.refcnt[n] == 0:
        return False
    f.refcnt[n] -= 1
    if f.refcnt[n] == 0:
        f.free_stack[f.nfree] = n
        f.nfree += 1
        return True
    return False

cdef inline void code_dirty(Frames *f, uint64_t paddr) noexcept nogil:
    if f.ncode_dirty < CODE_DIRTY_MAX:
        f.code_dirty[f.ncode_dirty] = <uint32_t>(paddr // PAGE)
        f.ncode_dirty += 1
    else:
        f.code_overflow = True


cdef enum:
    MADV_POPULATE_WRITE = 23
    PREFAULT_AHEAD = 8192           # frames (32 MiB) populated past the frontier
    PREFAULT_CHUNK = 512            # frames per madvise (2 MiB)


def _prefault_loop(ref):
    """The prefault thread: holds its allocator only weakly (it ends with
    the kernel), sleeps longer while nothing moves."""
    import time
    idle = 0.001
    while True:
        frames = ref()
        if frames is None or frames.prefault_stop:
            return
        moved = frames._prefault_step()
        frames = None
        if moved:
            idle = 0.001
        else:
            time.sleep(idle)
            idle = min(idle * 2, 0.05)


# Its __dealloc__ (or a holder's) uses the C state of the allocator: the
# garbage collector must not clear the references first (a kernel in a
# reference cycle crashed at exit).
@cython.no_gc_clear
cdef class FrameAllocator:
    """Physical page frames of the CPU's RAM.  Frame 0 is reserved (always
    zero, never handed out)."""
    cdef Frames f
    cdef Cpu cpu
    cdef public object on_oom           # () -> bool: reclaim frames (page caches)
    cdef public object on_code_dirty    # () -> None: sync the CPU before it runs
    cdef uint32_t populated             # frames below this are populated on the host
    cdef public bint prefault_stop
    cdef object __weakref__             # the prefault thread holds it weakly

    def __cinit__(self, Cpu cpu):
        cdef uint32_t i, n = <uint32_t>(cpu.ram_size // PAGE)
        self.cpu = cpu
        self.f.ram = cpu.ram_ptr()
        self.f.nframes = n
        self.f.free_stack = <uint32_t *>malloc(n * sizeof(uint32_t))
        self.f.refcnt = <uint16_t *>calloc(n, sizeof(uint16_t))
        self.f.used = <uint8_t *>calloc(n, sizeof(uint8_t))
        self.f.code_dirty = <uint32_t *>malloc(CODE_DIRTY_MAX * sizeof(uint32_t))
        if self.f.free_stack == NULL or self.f.refcnt == NULL or self.f.code_dirty == NULL \
                or self.f.used == NULL:
            raise MemoryError()
        # Highest first, so low frames are handed out first.
        self.f.nfree = 0
        for i in range(n - 1, 0, -1):
            self.f.free_stack[self.f.nfree] = i
            self.f.nfree += 1
        self.f.refcnt[0] = 1

    def __dealloc__(self):
        free(self.f.free_stack)
        free(self.f.refcnt)
        free(self.f.used)
        free(self.f.code_dirty)

    @property
    def total(self):
        return self.f.nframes

    @property
    def free(self):
        return self.f.nfree

    def refcount(self, uint64_t paddr):
        return self.f.refcnt[paddr // PAGE]

    def ram_view(self):
        """A writable memoryview of physical RAM (frame contents)."""
        return self.cpu.ram_view()

    # -- host memory ahead of use -----------------------------------------------
    def start_prefault(self):
        """Populate host memory under the next unused frames from a
        background thread (madvise MADV_POPULATE_WRITE, contents untouched,
        safe against concurrent guest writes), so a first touch by the
        guest does not pay the host's own page fault (~1.5 µs a page here,
        more than our whole demand-zero path).  Frames go out lowest
        first, so populating PREFAULT_AHEAD past the highest one handed out
        keeps host RSS near what the guest uses."""
        import threading
        import weakref
        threading.Thread(target=_prefault_loop, args=(weakref.ref(self),), daemon=True,
                         name="akuma-prefault").start()

    def _prefault_step(self):
        """Populate one chunk if the frontier needs it; False when caught up
        (or the host refuses: the thread stops)."""
        cdef uint64_t target = min(<uint64_t>self.f.high + 1 + PREFAULT_AHEAD,
                                   <uint64_t>self.f.nframes)
        cdef uint64_t start = self.populated, end
        cdef int r
        if start >= target:
            return False
        end = min(start + PREFAULT_CHUNK, target)
        with nogil:
            r = madvise(self.f.ram + start * PAGE, (end - start) * PAGE, MADV_POPULATE_WRITE)
        if r != 0:
            self.prefault_stop = True
            return False
        self.populated = <uint32_t>end
        return True

    # -- frames held by Python owners (page caches, memfd storage) -------------
    def alloc(self):
        """A zeroed frame's physical address, holding one reference.  When
        none is free, ``on_oom`` (the kernel's page-cache reclaim) may free
        some first."""
        cdef int64_t pa = frame_alloc(&self.f)
        if pa < 0 and self.on_oom is not None and self.on_oom():
            pa = frame_alloc(&self.f)
        if pa < 0:
            raise OutOfMemory()
        return pa

    def put(self, uint64_t paddr):
        """Drop one reference to a frame taken with ``alloc``.  A page-cache
        frame may have been executed through any process's mapping, so one
        that becomes free has its translated code dropped before reuse."""
        if paddr // PAGE >= self.f.nframes:
            raise ValueError("not a frame")
        if frame_put(&self.f, paddr):
            self._code_changed(paddr)

    def rewritten(self, uint64_t paddr):
        """The kernel rewrote a frame that code may run from (a cached file
        page after write(2)): its translated blocks must go."""
        self._code_changed(paddr)

    cdef _code_changed(self, uint64_t paddr):
        # Only frames some process could execute from (see _fill); the mark
        # stays until the frame is handed out again.
        if self.f.used[paddr // PAGE] != USED_CODE:
            return
        code_dirty(&self.f, paddr)
        if self.on_code_dirty is not None:
            self.on_code_dirty()


# ---------------------------------------------------------------- page tables

cdef inline uint64_t *pt_walk(AsState *a, uint64_t va, bint create) noexcept nogil:
    """Pointer to the leaf entry for ``va``, creating tables if asked; NULL if
    absent (or out of host memory)."""
    cdef uint64_t *t = a.root
    cdef uint64_t *nt
    cdef int level, idx
    for level in range(3):
        idx = (va >> (39 - 9 * level)) & 511
        if t[idx] == 0:
            if not create:
                return NULL
            nt = <uint64_t *>calloc(ENTRIES, sizeof(uint64_t))
            if nt == NULL:
                return NULL
            a.tables += 1
            t[idx] = <uint64_t>nt
        t = <uint64_t *>t[idx]
    return &t[(va >> 12) & 511]

cdef inline CVma *find_vma(AsState *a, uint64_t va) noexcept nogil:
    cdef int64_t lo = 0, hi = <int64_t>a.nvmas - 1, mid
    while lo <= hi:
        mid = (lo + hi) >> 1
        if va < a.vmas[mid].start:
            hi = mid - 1
        elif va >= a.vmas[mid].end:
            lo = mid + 1
        else:
            return &a.vmas[mid]
    return NULL

cdef inline uint64_t prot_to_pte(uint32_t prot) noexcept nogil:
    # AArch64 Linux: any accessible page is readable.
    cdef uint64_t p = 0
    if prot & 7:
        p |= PTE_R
    if prot & 2:
        p |= PTE_W
    if prot & 4:
        p |= PTE_X
    return p

cdef inline int fault(AsState *a, uint64_t va, int access, int code) noexcept nogil:
    a.fault_addr = va
    a.fault_access = access
    a.fault_code = code
    return 0

cdef uint64_t resolve(AsState *a, Frames *fr, uint64_t va, int access) noexcept nogil:
    """The MMU walk shared by the fill callback and copy-in/out: the leaf
    entry allowing ``access`` at ``va``, after demand-zero fill or a COW
    break; 0 with the fault recorded when the access is refused."""
    cdef uint64_t *pte = pt_walk(a, va, False)
    cdef uint64_t e, old
    cdef int64_t pa
    cdef CVma *v
    if pte != NULL and (pte[0] & PTE_VALID):
        e = pte[0]
        if access == UC_MEM_WRITE:
            if not (e & PTE_W):
                fault(a, va, access, FAULT_ACCERR)
                return 0
            if e & PTE_COW:
                # Writable by its VMA but shared with another process.
                old = e & ADDR_MASK
                if fr.refcnt[old // PAGE] == 1:
                    e &= ~(<uint64_t>PTE_COW)
                else:
                    pa = frame_alloc(fr)
                    if pa < 0:
                        fault(a, va, access, FAULT_OOM)
                        return 0
                    memcpy(fr.ram + pa, fr.ram + old, PAGE)
                    frame_put(fr, old)
                    e = <uint64_t>pa | (e & 0xFFF & ~(<uint64_t>(PTE_COW | PTE_CODE)))
                pte[0] = e
                a.tlb_stale = True   # a read-only translation of the old frame may be cached
            return e
        if access == UC_MEM_FETCH:
            if e & PTE_X:
                return e
            fault(a, va, access, FAULT_ACCERR)
            return 0
        if e & PTE_R:
            return e
        fault(a, va, access, FAULT_ACCERR)
        return 0
    v = find_vma(a, va)
    if v == NULL:
        fault(a, va, access, FAULT_MAPERR)
        return 0
    e = prot_to_pte(v.prot)
    if (access == UC_MEM_WRITE and not (e & PTE_W)) or \
       (access == UC_MEM_FETCH and not (e & PTE_X)) or not (e & PTE_R):
        fault(a, va, access, FAULT_ACCERR)
        return 0
    if v.kind != VMA_ANON and v.kind != VMA_ANON_SHARED:
        fault(a, va, access, FAULT_PAGER)
        return 0
    if v.kind == VMA_ANON_SHARED:
        e |= PTE_SHARED
    pa = frame_alloc(fr)
    if pa < 0:
        fault(a, va, access, FAULT_OOM)
        return 0
    pte = pt_walk(a, va, True)
    if pte == NULL:
        frame_put(fr, pa)
        fault(a, va, access, FAULT_OOM)
        return 0
    e |= <uint64_t>pa | PTE_VALID
    pte[0] = e
    a.rss += 1
    return e


cdef bint _fill(uc_engine *uc, uint64_t va, uc_mem_type access, uc_tlb_entry *result,
                void *user_data) noexcept nogil:
    cdef MmuState *m = <MmuState *>user_data
    cdef uint64_t e
    cdef uint32_t perms = 0
    m.fills += 1
    if va >= USER_TOP:
        if m.kwin and va >= KWIN and va - KWIN < <uint64_t>m.frames.nframes * PAGE:
            result.paddr = m.phys_base + (va - KWIN)
            result.perms = <uc_prot>(UC_PROT_READ | UC_PROT_EXEC)
            return True
        if va >= PROBE_PAGE:
            # uc_emu_start probes its `until` page on every return and must
            # be answered: the reserved zero frame, no rights.
            result.paddr = m.phys_base
            result.perms = UC_PROT_NONE
            return True
        # Beyond the 48-bit user space: a fault like any unmapped address.
        if m.current != NULL:
            fault(m.current, va, access, FAULT_MAPERR)
        return False
    if m.current == NULL:
        return False
    e = resolve(m.current, m.frames, va, access)
    # A COW break here needs no flush: unicorn replaces this page's entry.
    m.current.tlb_stale = False
    if e == 0:
        return False
    if e & PTE_X:
        # Remember the frame may hold code: reusing or rewriting it needs a
        # code-cache flush.  Any fill of an executable page counts, not only
        # a fetch: unicorn's entry for a read also serves later fetches.
        if not (e & PTE_CODE):
            pt_walk(m.current, va, False)[0] = e | PTE_CODE
        m.frames.used[(e & ADDR_MASK) // PAGE] = USED_CODE
    if e & PTE_R:
        perms |= UC_PROT_READ
    if (e & PTE_W) and not (e & PTE_COW):
        perms |= UC_PROT_WRITE
    if e & PTE_X:
        perms |= UC_PROT_EXEC
    result.paddr = m.phys_base + (e & ADDR_MASK)
    result.perms = <uc_prot>perms
    return True


# ---------------------------------------------------------------- address spaces

# Its __dealloc__ (or a holder's) uses the C state of the allocator: the
# garbage collector must not clear the references first (a kernel in a
# reference cycle crashed at exit).
@cython.no_gc_clear
cdef class PageTable:
    """One process's page table and the C mirror of its VMAs.  The VMA list
    itself (split/merge logic) is Python (akuma.mm.vma); ``set_vmas`` copies
    it here for the fill callback."""
    cdef AsState a
    cdef FrameAllocator frames
    cdef Frames *fr
    cdef public object on_tlb_stale   # called when cached translations must go

    def __cinit__(self, FrameAllocator frames):
        self.frames = frames
        self.fr = &frames.f
        self.a.root = <uint64_t *>calloc(ENTRIES, sizeof(uint64_t))
        if self.a.root == NULL:
            raise MemoryError()
        self.a.tables = 1

    def __dealloc__(self):
        if self.a.root != NULL:
            self._free_tree(self.a.root, 0)
            self.a.root = NULL
        free(self.a.vmas)

    cdef void _free_tree(self, uint64_t *t, int level) noexcept nogil:
        cdef int i
        for i in range(ENTRIES):
            if t[i] == 0:
                continue
            if level < 3:
                self._free_tree(<uint64_t *>t[i], level + 1)
            elif t[i] & PTE_VALID:
                if frame_put(self.fr, t[i] & ADDR_MASK) and (t[i] & PTE_CODE):
                    code_dirty(self.fr, t[i] & ADDR_MASK)
        free(t)

    def set_vmas(self, list vmas):
        """vmas: sorted (start, end, prot, kind) tuples."""
        cdef uint32_t n = len(vmas), i = 0
        cdef CVma *arr = <CVma *>realloc(self.a.vmas, max(n, 1) * sizeof(CVma))
        if arr == NULL:
            raise MemoryError()
        self.a.vmas = arr
        for start, end, prot, kind in vmas:
            arr[i].start = start
            arr[i].end = end
            arr[i].prot = prot
            arr[i].kind = kind
            i += 1
        self.a.nvmas = n

    @property
    def rss(self):
        return self.a.rss

    @property
    def table_pages(self):
        return self.a.tables

    def take_fault(self):
        """(address, access, code) of the access the CPU was refused, and
        forget it (code 0: none was)."""
        r = (self.a.fault_addr, self.a.fault_access, self.a.fault_code)
        self.a.fault_code = FAULT_NONE
        return r

    cdef inline void _stale(self):
        self.a.tlb_stale = False
        if self.on_tlb_stale is not None:
            self.on_tlb_stale()

    def flush_if_stale(self):
        if self.a.tlb_stale:
            self._stale()

    # -- range operations ----------------------------------------------------
    def unmap(self, uint64_t start, uint64_t end):
        """Drop the pages of [start, end) and their frames' references."""
        cdef uint64_t dropped
        with nogil:
            dropped = self._range(self.a.root, 0, 0, start, end, 0, True)
        if dropped:
            self._stale()

    def protect(self, uint64_t start, uint64_t end, uint32_t prot):
        """Change the rights of present pages in [start, end)."""
        cdef uint64_t bits = prot_to_pte(prot)
        with nogil:
            self._range(self.a.root, 0, 0, start, end, bits, False)
        self._stale()

    cdef uint64_t _range(self, uint64_t *t, int level, uint64_t base, uint64_t start,
                         uint64_t end, uint64_t bits, bint drop) noexcept nogil:
        """Visit the present leaf entries of [start, end) under table ``t``
        (which maps ``base``): drop them, or give them the rights ``bits``
        (a COW entry stays COW: a write still breaks the share first).
        Only present tables are walked, so the whole 48-bit space is cheap."""
        cdef uint64_t span = 1ULL << (39 - 9 * level)
        cdef uint64_t lo, e, n = 0
        cdef int i, first, last
        if start < base:
            start = base
        if end > base + span * ENTRIES:
            end = base + span * ENTRIES
        if start >= end:
            return 0
        first = <int>((start - base) // span)
        last = <int>((end - 1 - base) // span)
        for i in range(first, last + 1):
            e = t[i]
            if e == 0:
                continue
            lo = base + <uint64_t>i * span
            if level < 3:
                n += self._range(<uint64_t *>e, level + 1, lo, start, end, bits, drop)
            elif e & PTE_VALID:
                if drop:
                    if frame_put(self.fr, e & ADDR_MASK) and (e & PTE_CODE):
                        code_dirty(self.fr, e & ADDR_MASK)
                    self.a.rss -= 1
                    t[i] = 0
                else:
                    t[i] = (e & ~(<uint64_t>(PTE_R | PTE_W | PTE_X))) | bits
                n += 1
        return n

    def clone_into(self, PageTable child):
        """Make the empty ``child`` a copy-on-write duplicate of this table
        (fork): private pages become COW in both, shared pages stay shared;
        no data is copied."""
        cdef int r
        with nogil:
            r = self._clone(self.a.root, child.a.root, 0, &child.a)
        if r < 0:
            raise MemoryError()
        self.a.tlb_stale = True     # our writable entries are read-only now
        self._stale()

    cdef int _clone(self, uint64_t *src, uint64_t *dst, int level, AsState *ca) noexcept nogil:
        cdef int i
        cdef uint64_t e
        cdef uint64_t *nt
        for i in range(ENTRIES):
            e = src[i]
            if e == 0:
                continue
            if level < 3:
                nt = <uint64_t *>calloc(ENTRIES, sizeof(uint64_t))
                if nt == NULL:
                    return -1
                ca.tables += 1
                dst[i] = <uint64_t>nt
                if self._clone(<uint64_t *>e, nt, level + 1, ca) < 0:
                    return -1
            elif e & PTE_VALID:
                if not (e & PTE_SHARED):
                    e |= PTE_COW
                    src[i] = e
                self.fr.refcnt[(e & ADDR_MASK) // PAGE] += 1
                dst[i] = e
                ca.rss += 1
        return 0

    def move(self, uint64_t src, uint64_t dst, uint64_t length):
        """Move the pages of [src, src+length) to dst (mremap); the
        destination must be empty.  Frames move, nothing is copied."""
        cdef uint64_t off, *from_pte, *to_pte
        for off in range(0, length, PAGE):
            from_pte = pt_walk(&self.a, src + off, False)
            if from_pte == NULL or not (from_pte[0] & PTE_VALID):
                continue
            to_pte = pt_walk(&self.a, dst + off, True)
            if to_pte == NULL:
                raise MemoryError()
            to_pte[0] = from_pte[0]
            from_pte[0] = 0
        self._stale()

    def install(self, uint64_t va, uint64_t paddr, uint32_t prot, bint shared, bint cow):
        """Map the frame ``paddr`` at ``va`` (the pager's answer to a fault),
        taking a reference: a page-cache frame is PTE_SHARED for MAP_SHARED
        and COW for MAP_PRIVATE (a write copies it, the file never changes)."""
        cdef uint64_t *pte
        if paddr // PAGE >= self.fr.nframes or paddr & (PAGE - 1) or va >= USER_TOP:
            raise ValueError("bad frame or address")
        pte = pt_walk(&self.a, va, True)
        if pte == NULL:
            raise OutOfMemory()
        if pte[0] & PTE_VALID:
            return      # raced with nothing (one kernel thread): already mapped
        self.fr.refcnt[paddr // PAGE] += 1
        pte[0] = paddr | prot_to_pte(prot) | PTE_VALID | \
            (PTE_SHARED if shared else 0) | (PTE_COW if cow else 0)
        self.a.rss += 1

    def present(self, uint64_t va):
        """Physical address of the page mapped at ``va``, or None (no fault-in)."""
        cdef uint64_t *pte = pt_walk(&self.a, va, False)
        if pte == NULL or not (pte[0] & PTE_VALID):
            return None
        return pte[0] & ADDR_MASK

    def populate(self, uint64_t start, uint64_t end, int access=UC_MEM_WRITE):
        """Fault in [start, end) now (ELF loading, MAP_POPULATE)."""
        cdef uint64_t va
        for va in range(start, end, PAGE):
            if resolve(&self.a, self.fr, va, access) == 0:
                raise _fault_error(&self.a)
        self.flush_if_stale()

    def translate(self, uint64_t va, int access=UC_MEM_READ):
        """Physical address for ``va`` (faulting in as the CPU would)."""
        cdef uint64_t e = resolve(&self.a, self.fr, va, access)
        if e == 0:
            raise _fault_error(&self.a)
        return (e & ADDR_MASK) | (va & (PAGE - 1))

    # -- copy-in / copy-out ------------------------------------------------------
    def read(self, uint64_t va, size_t n):
        """Copy ``n`` bytes in from user memory (EFault on a bad address)."""
        cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
        cdef char *dst = PyBytes_AS_STRING(out)
        if self._copy(va, dst, n, False) != 0:
            raise _fault_error(&self.a)
        return out

    def write(self, uint64_t va, const unsigned char[:] data):
        """Copy ``data`` out to user memory (EFault on a bad address)."""
        cdef size_t n = data.shape[0]
        if n == 0:
            return
        if self._copy(va, <char *>&data[0], n, True) != 0:
            raise _fault_error(&self.a)

    cdef int _copy(self, uint64_t va, char *buf, size_t n, bint to_user) noexcept nogil:
        cdef uint64_t e, off, chunk
        cdef int access = UC_MEM_WRITE if to_user else UC_MEM_READ
        cdef int rc = 0
        if va + n < va or va + n > USER_TOP:
            fault(&self.a, va, access, FAULT_MAPERR)
            return -1
        while n:
            e = resolve(&self.a, self.fr, va, access)
            if e == 0:
                rc = -1         # pages before it may have had their COW broken: still sync
                break
            off = va & (PAGE - 1)
            chunk = PAGE - off
            if chunk > n:
                chunk = n
            if to_user:
                if e & PTE_CODE:
                    code_dirty(self.fr, e & ADDR_MASK)
                    self.a.tlb_stale = True
                memcpy(self.fr.ram + (e & ADDR_MASK) + off, buf, chunk)
            else:
                memcpy(buf, self.fr.ram + (e & ADDR_MASK) + off, chunk)
            va += chunk
            buf += chunk
            n -= chunk
        if self.a.tlb_stale:
            with gil:
                self._stale()
        return rc

    def read_cstr(self, uint64_t va, size_t limit):
        """A NUL-terminated string of at most ``limit`` bytes (without the
        NUL); None if no NUL within ``limit``; EFault on a bad address."""
        cdef uint64_t e, off, chunk
        cdef const char *p
        cdef const char *hit
        parts = []
        cdef size_t got = 0
        while True:
            e = resolve(&self.a, self.fr, va, UC_MEM_READ)
            if e == 0:
                raise _fault_error(&self.a)
            off = va & (PAGE - 1)
            chunk = PAGE - off
            p = self.fr.ram + (e & ADDR_MASK) + off
            hit = <const char *>memchr(p, 0, chunk)
            if hit != NULL:
                if got + <size_t>(hit - p) > limit:
                    return None
                parts.append(PyBytes_FromStringAndSize(p, hit - p))
                return b"".join(parts)
            got += chunk
            if got > limit:
                return None     # longer than the limit
            # got == limit: the NUL may be the next byte (Linux reads it too).
            parts.append(PyBytes_FromStringAndSize(p, chunk))
            va += chunk

    def buffers(self, uint64_t va, size_t n, bint to_user):
        """Memoryviews over the RAM behind [va, va+n) (physically contiguous
        runs merged), for zero-copy host I/O: os.readv into them for
        read(2), os.writev from them for write(2)."""
        cdef uint64_t e, off, chunk, pa, run_start = 0, run_len = 0
        cdef int access = UC_MEM_WRITE if to_user else UC_MEM_READ
        ram = self.frames.cpu.ram_view()
        views = []
        if va + n < va or va + n > USER_TOP:
            fault(&self.a, va, access, FAULT_MAPERR)
            raise _fault_error(&self.a)
        while n:
            e = resolve(&self.a, self.fr, va, access)
            if e == 0:
                raise _fault_error(&self.a)
            off = va & (PAGE - 1)
            chunk = PAGE - off
            if chunk > n:
                chunk = n
            pa = (e & ADDR_MASK) + off
            if run_len and run_start + run_len == pa:
                run_len += chunk
            else:
                if run_len:
                    views.append(ram[run_start:run_start + run_len])
                run_start = pa
                run_len = chunk
            va += chunk
            n -= chunk
        if run_len:
            views.append(ram[run_start:run_start + run_len])
        if self.a.tlb_stale:
            self._stale()
        return views


cdef int user_copy(object pt, uint64_t va, char *buf, size_t n, bint to_user) noexcept:
    """Copy between user memory of page table ``pt`` and ``buf`` for C
    callers (the syscall fast path): 0, or -1 when a page needs the Python
    pager or the access is refused -- the caller then takes the slow path,
    which redoes the copy and reports the fault, so the record is dropped."""
    cdef PageTable p = <PageTable>pt
    if p._copy(va, buf, n, to_user) != 0:
        p.a.fault_code = FAULT_NONE
        return -1
    return 0


cdef object _fault_error(AsState *a):
    """The exception for a refused kernel access; the record is cleared so
    that it is never mistaken for a CPU fault."""
    code = a.fault_code
    a.fault_code = FAULT_NONE
    if code == FAULT_OOM:
        return OutOfMemory()
    return EFault(a.fault_addr, code)


# Its __dealloc__ (or a holder's) uses the C state of the allocator: the
# garbage collector must not clear the references first (a kernel in a
# reference cycle crashed at exit).
@cython.no_gc_clear
cdef class Mmu:
    """Installs the TLB-fill callback on the CPU and knows which page table
    is current."""
    cdef MmuState m
    cdef Cpu cpu
    cdef uc_hook hook
    cdef readonly PageTable current
    cdef readonly FrameAllocator frames
    cdef readonly unsigned long flushes     # every TLB flush (the tick's policy)
    cdef unsigned long tick_fills           # fills counted at the last tick
    cdef long tick_flushes                  # flushes at the last tick; -1: judge the next one
    # Two TLBs (see switch): the page table whose translations each holds.
    cdef PageTable slot_ns, slot_s
    cdef int last_slot                      # SLOT_NS or SLOT_S, the one used last
    cdef readonly unsigned long slot_hits   # switches that kept their translations

    def __cinit__(self, Cpu cpu, FrameAllocator frames):
        self.cpu = cpu
        self.frames = frames
        self.m.frames = &frames.f
        self.m.current = NULL
        self.m.phys_base = cpu.phys_base
        cdef uc_err err = uc_hook_add(cpu.uc, &self.hook, UC_HOOK_TLB_FILL, <void *>_fill,
                                      <void *>&self.m, 1, 0)
        if err != UC_ERR_OK:
            raise RuntimeError(f"TLB fill hook: {uc_strerror(err).decode()}")

    def sync(self):
        """Make the CPU's caches agree with the page tables again: drop the
        translated code of frames that were freed or rewritten, then every
        cached translation."""
        cdef Frames *f = self.m.frames
        cdef uint32_t i
        cdef uint64_t pa
        if f.code_overflow:
            uc_ctl_flush_tb(self.cpu.uc)
        elif f.ncode_dirty:
            self.m.kwin = True
            for i in range(f.ncode_dirty):
                pa = <uint64_t>f.code_dirty[i] * PAGE
                uc_ctl_remove_cache(self.cpu.uc, KWIN + pa, KWIN + pa + PAGE)
            self.m.kwin = False
        f.ncode_dirty = 0
        f.code_overflow = False
        self.flush()

    def flush(self):
        """Drop every cached translation."""
        uc_ctl_flush_tlb(self.cpu.uc)
        self.flushes += 1

    def tick(self, unsigned long grow_fills):
        """The preemption tick's TLB policy.  QEMU's TLB only grows at a
        flush (DESIGN.md, "Faults and address spaces"), but a flush also
        means refilling the whole working set at ~0.3 µs a page: 5 ms of
        every 10 ms slice for 64 MiB touched at random.  So flush only after
        a whole slice ran without any flush and still took more than
        ``grow_fills`` fills: the TLB is too small, not just cold.  Growing
        from 256 entries to 32k then takes ~14 ticks, and a working set it
        covers is never refilled again."""
        cdef bint warm = <long>self.flushes == self.tick_flushes
        if warm and self.m.fills - self.tick_fills > grow_fills:
            self.flush()
            self.tick_flushes = -1      # the next slice refills: judge the one after
        else:
            self.tick_flushes = <long>self.flushes
        self.tick_fills = self.m.fills

    def switch(self, PageTable pt, bint flush=True):
        """Make ``pt`` the address space the CPU translates through (call it
        after loading a task's registers: it sets SCR_EL3.NS in them).

        QEMU's TLB has no ASIDs, but it keeps one table per translation
        regime, and EL0 of the Secure and of the Non-secure EL1&0 regimes
        are two (mmu indexes SE10_0 and E10_0; AArch64 EL1 registers are
        not banked, so nothing else changes for the guest).  The two slots
        remember the page table each was filled for: switching back to
        one of them keeps its translations and needs no flush -- a pipe
        ping-pong between two processes never flushes.  A page table in
        neither slot takes the one used less recently; unicorn flushes only
        all regimes at once, so that flush empties both (a valid state for
        either owner).  Every page-table change of any process flushes all
        (tlb_stale), so a slot never holds translations its owner no longer
        has.

        Inside a hook pass flush=False and sync() before the CPU runs again:
        unicorn's TLB flush also drops translated blocks, which is not safe
        while it is handling an exception."""
        cdef int slot
        if pt is None:
            self.current = None
            self.m.current = NULL
            return
        if pt is self.slot_ns:
            slot = SLOT_NS
            self.slot_hits += 1
        elif pt is self.slot_s:
            slot = SLOT_S
            self.slot_hits += 1
        else:
            if self.slot_ns is None:
                slot = SLOT_NS
            elif self.slot_s is None:
                slot = SLOT_S
            else:
                slot = SLOT_S if self.last_slot == SLOT_NS else SLOT_NS
            if slot == SLOT_NS:
                self.slot_ns = pt
            else:
                self.slot_s = pt
            if flush:
                self.flush()
        self.last_slot = slot
        self.current = pt
        self.m.current = &pt.a
        self._set_ns(slot == SLOT_NS)

    cdef _set_ns(self, bint ns):
        """SCR_EL3.NS of the loaded registers (a CP_REG write also rebuilds
        QEMU's cached translation flags, which hold the mmu index)."""
        cdef uc_arm64_cp_reg r
        r.op0, r.op1, r.crn, r.crm, r.op2 = 3, 6, 1, 1, 0
        r.val = 0
        if uc_reg_read(self.cpu.uc, UC_ARM64_REG_CP_REG, &r) != UC_ERR_OK:
            raise RuntimeError("read SCR_EL3")
        if (r.val & 1) == ns:
            return
        r.val = (r.val | 1) if ns else (r.val & ~(<uint64_t>1))
        if uc_reg_write(self.cpu.uc, UC_ARM64_REG_CP_REG, &r) != UC_ERR_OK:
            raise RuntimeError("write SCR_EL3")

    def forget(self, PageTable pt):
        """``pt`` is gone (its process exited or exec'd): free its slot."""
        if pt is self.slot_ns:
            self.slot_ns = None
        if pt is self.slot_s:
            self.slot_s = None

    @property
    def fills(self):
        return self.m.fills
