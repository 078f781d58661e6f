from libc.stdint cimport uint32_t, uint64_t, int64_t
from akuma.arch.uc cimport uc_engine, uc_context, uc_hook

# Why uc_emu_start returned (Cpu.run's result).
cpdef enum RunExit:
    EXIT_TICK = 0        # the watchdog's preemption tick
    EXIT_STOP = 1        # a syscall handler asked the CPU to stop (block, exit, exec, signal)
    EXIT_EXCEPTION = 2   # a synchronous exception other than SVC (see Cpu.exception)
    EXIT_FAULT = 3       # the MMU (TLB fill) refused an access (see akuma.mm)

# Syscall fast path: a C handler for number nr gets the task and x0..x5 and
# answers FAST_PASS (the Python handler runs instead, from scratch: the fast
# handler has changed nothing), FAST_DONE (x0 = *result) or FAST_BLOCK (the
# task is parked: re-execute the SVC when it wakes).
cdef enum:
    FAST_PASS = 0
    FAST_DONE = 1
    FAST_BLOCK = 2
    FAST_MAX = 512
ctypedef int (*fast_handler_t)(object task, uint64_t *args, uint64_t *result) except -1


cdef class Cpu:
    cdef uc_engine *uc
    cdef char *ram
    cdef readonly size_t ram_size
    cdef object _ram_map
    cdef uc_hook _intr_hook
    cdef uc_hook _block_hook
    cdef volatile int tick_pending
    # Syscall dispatch: a list indexed by number of callables (task, a0..a5) -> int | None.
    cdef public object syscall_table
    cdef public object fallback        # callable(task, nr, a0..a5) for numbers past the table
    cdef public object task            # the task whose context is loaded
    cdef public object on_error        # callable(task, nr, exc) -> int, for exceptions in handlers
    cdef fast_handler_t fast[FAST_MAX]  # C handlers tried before the Python table (NULL: none)
    cdef bint _stop_requested
    cdef readonly int exception        # intno of the last non-SVC exception
    cdef volatile bint _running
    cdef volatile bint _watching
    cdef volatile bint _ticked
    cdef readonly uint64_t syscalls     # count, for statistics
    cdef readonly uint64_t fast_calls   # of them answered by a C fast handler
    cdef readonly uint64_t resumed      # ... of those, re-run by resume_syscall (no SVC)
    cdef public uint64_t sys_ns         # time spent in syscall handlers (stime), taken by the kernel
    cdef readonly uint64_t slice_start  # CLOCK_MONOTONIC ns when the running slice began (0: none)
    cdef readonly uint64_t slice_spent  # ns the last run() took
    cdef readonly uint64_t blocked_pc   # PC of the SVC the last run() rewound to block (0: none)
    cdef readonly int last_error        # uc_err of the last failed uc_emu_start

    cdef _setup_el0(self)
    cdef void _on_intr(self, uint32_t intno)
    cpdef int run(self) except -1
    cpdef int resume_syscall(self, uint64_t svc_pc) except -1
    cpdef void request_stop(self)
    cpdef uint64_t reg(self, int regid) except? 0xFFFFFFFFFFFFFFFF
    cpdef set_reg(self, int regid, uint64_t value)
    cdef inline bint has_fast(self, uint64_t nr):
        return nr < FAST_MAX and self.fast[nr] != NULL
    cdef inline char *ram_ptr(self):
        return self.ram


cdef class CpuContext:
    cdef uc_context *ctx
    cdef Cpu cpu
