from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

# Leaf page-table entry: physical address (bits 12..47) | flags.
cdef enum:
    PTE_VALID = 1
    PTE_R = 2
    PTE_W = 4
    PTE_X = 8
    PTE_COW = 16      # write breaks the share (fork)
    PTE_SHARED = 32   # MAP_SHARED: never COW
    PTE_CODE = 64     # was fetched from: its frame held translated code

# VMA kinds the fill callback can serve without Python.
cdef enum:
    VMA_ANON = 1      # demand-zero
    VMA_PAGER = 2     # needs Python (file pages, stack growth) — a fault exit
    VMA_ANON_SHARED = 3   # demand-zero, MAP_SHARED: pages stay shared across fork

# Fault codes recorded when the fill callback refuses an access.
cdef enum:
    FAULT_NONE = 0
    FAULT_MAPERR = 1
    FAULT_ACCERR = 2
    FAULT_PAGER = 3
    FAULT_OOM = 4

cdef struct Frames:
    char *ram
    uint32_t nframes
    uint32_t nfree
    uint32_t high           # highest frame index ever handed out (the prefault frontier)
    uint32_t *free_stack
    uint16_t *refcnt
    uint8_t *used           # 0: never handed out, still zero from the host's mmap
    uint32_t *code_dirty    # freed or rewritten frames that held translated code
    uint32_t ncode_dirty
    bint code_overflow      # too many: flush the whole code cache instead

cdef struct CVma:
    uint64_t start
    uint64_t end
    uint32_t prot     # PROT_READ=1, PROT_WRITE=2, PROT_EXEC=4
    uint32_t kind

cdef struct AsState:
    uint64_t *root          # level-0 table (512 entries)
    CVma *vmas              # sorted, non-overlapping
    uint32_t nvmas
    uint64_t rss            # resident pages
    uint64_t tables         # page-table pages
    uint64_t fault_addr
    int fault_access        # uc_mem_type of the refused access
    int fault_code
    bint tlb_stale          # a PTE changed under a cached translation

cdef struct MmuState:
    AsState *current
    uint64_t phys_base      # physical address of frame 0 (akuma.arch's PHYS_BASE)
    Frames *frames
    uint64_t fills          # TLB fills served (statistics)
    bint kwin               # the kernel's physical window is open (code-cache invalidation)

# Copy-in/out for C callers in other modules (the syscall fast path): 0, or
# -1 when the Python pager or an EFAULT report is needed (nothing recorded).
cdef int user_copy(object pt, uint64_t va, char *buf, size_t n, bint to_user) noexcept
