# cython: language_level=3
"""The unicorn AArch64 core: RAM, CPU set-up, EL0 entry, exception entry
(SVC dispatch and other synchronous exceptions), register access, contexts,
TLB maintenance and the preemption watchdog.

Everything here talks to libunicorn's C API directly; no ctypes on any path
that runs per syscall or per fault."""
import mmap as _mmap

from cpython.ref cimport PyObject
from libc.stdint cimport uint32_t, uint64_t, int64_t
from libc.string cimport memset
from posix.unistd cimport usleep
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC

from akuma.arch.uc cimport *

# QEMU's AArch64 exception numbers as seen by UC_HOOK_INTR.
EXCP_UDEF = 1
EXCP_SWI = 2
EXCP_PREFETCH_ABORT = 3
EXCP_DATA_ABORT = 4
EXCP_BKPT = 7

# Stopping address given to uc_emu_start: never reached; it is above the
# 48-bit user space, and the TLB fill callback answers it harmlessly.
cdef extern from *:
    """
    #define CPU_STOP_ADDR 0xFFFFFFFFFFFFF000ULL
    #define CPU_PHYS_BASE (1ULL << 48)
    """
    const uint64_t STOP_ADDR "CPU_STOP_ADDR"
    # Guest RAM's physical address.  Above every user virtual address on
    # purpose: while a stop request is pending, unicorn skips hooks, so a TLB
    # miss then gets its default identity mapping (paddr == vaddr); with RAM
    # up here that access finds no memory and faults precisely (the kernel
    # resumes it) instead of reading another process's frame.
    const uint64_t PHYS_BASE "CPU_PHYS_BASE"

cdef int[7] _SYSCALL_REGS

class CpuError(RuntimeError):
    """libunicorn reported an error the kernel cannot recover from."""


cdef inline check(uc_err err, str what):
    if err != UC_ERR_OK:
        raise CpuError(f"{what}: {uc_strerror(err).decode()}")


def cp_reg(op0, op1, crn, crm, op2):
    """Key for a system register, in the encoding of MRS/MSR."""
    return (op0, op1, crn, crm, op2)

SCTLR_EL1 = (3, 0, 1, 0, 0)
CPACR_EL1 = (3, 0, 1, 0, 2)
HCR_EL2 = (3, 4, 1, 1, 0)
SCR_EL3 = (3, 6, 1, 1, 0)
TPIDR_EL0 = (3, 3, 13, 0, 2)
TPIDRRO_EL0 = (3, 3, 13, 0, 3)

# Register ids for CpuContext.set_reg/reg (contexts of tasks not loaded).
REG_SP = UC_ARM64_REG_SP
REG_PC = UC_ARM64_REG_PC
REG_TPIDR_EL0 = UC_ARM64_REG_TPIDR_EL0


cdef inline uint64_t _now_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <uint64_t>ts.tv_sec * 1000000000 + <uint64_t>ts.tv_nsec


cdef void _hook_intr(uc_engine *uc, uint32_t intno, void *user_data) noexcept with gil:
    (<Cpu>user_data)._on_intr(intno)


cdef void _hook_block(uc_engine *uc, uint64_t address, uint32_t size, void *user_data) noexcept nogil:
    if (<int *>user_data)[0]:
        (<int *>user_data)[0] = 0
        uc_emu_stop(uc)


cdef class Cpu:
    """One AArch64 core with ``ram_size`` bytes of RAM at physical PHYS_BASE.

    The RAM is one host mapping given to unicorn with ``uc_mem_map_ptr``; the
    kernel reads and writes physical memory through ``ram_ptr()`` directly."""

    def __cinit__(self, size_t ram_size):
        cdef uc_err err
        if ram_size % 65536 or ram_size == 0:
            raise ValueError("RAM size must be a positive multiple of 64 KiB")
        check(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &self.uc), "uc_open")
        # Order matters: model and page size before the TLB mode, which
        # brings the CPU up.
        check(uc_ctl_set_cpu_model(self.uc, UC_CPU_ARM64_MAX), "cpu model")
        check(uc_ctl_set_page_size(self.uc, 4096), "page size")
        check(uc_ctl_tlb_mode(self.uc, UC_TLB_VIRTUAL), "tlb mode")
        self._ram_map = _mmap.mmap(-1, ram_size, _mmap.MAP_PRIVATE | _mmap.MAP_ANONYMOUS)
        cdef const unsigned char[:] view = self._ram_map
        self.ram = <char *>&view[0]
        self.ram_size = ram_size
        check(uc_mem_map_ptr(self.uc, PHYS_BASE, ram_size, UC_PROT_ALL, self.ram), "map RAM")
        check(uc_hook_add(self.uc, &self._intr_hook, UC_HOOK_INTR, <void *>_hook_intr,
                          <void *>self, 1, 0), "intr hook")
        check(uc_hook_add(self.uc, &self._block_hook, UC_HOOK_BLOCK, <void *>_hook_block,
                          <void *>&self.tick_pending, 1, 0), "block hook")
        self.syscall_table = []
        self.task = None
        memset(self.fast, 0, sizeof(self.fast))
        self._setup_el0()

    def __dealloc__(self):
        if self.uc != NULL:
            uc_close(self.uc)
            self.uc = NULL

    cdef _setup_el0(self):
        # AArch64 at EL1..EL3 (else EL1 is AArch32 and EL0 misbehaves).
        self.set_sysreg(SCR_EL3, self.sysreg(SCR_EL3) | (1 << 10) | 1)
        self.set_sysreg(HCR_EL2, self.sysreg(HCR_EL2) | (1 << 31))
        # FP/SIMD not trapped (musl and glibc use SIMD in memcpy/strlen).
        self.set_sysreg(CPACR_EL1, self.sysreg(CPACR_EL1) | (3 << 20))
        # EL0 may use DC ZVA (DZE), read CTR_EL0 (UCT), do cache maintenance
        # (UCI), and WFI/WFE do not trap (nTWI, nTWE).
        self.set_sysreg(SCTLR_EL1, self.sysreg(SCTLR_EL1)
                        | (1 << 14) | (1 << 15) | (1 << 26) | (1 << 16) | (1 << 18))
        # EL0t with interrupts unmasked; the CP_REG write afterwards rebuilds
        # QEMU's cached mode flags.
        self.set_reg(UC_ARM64_REG_PSTATE, 0)
        self.set_sysreg(TPIDR_EL0, 0)

    # -- registers -------------------------------------------------------------
    cpdef uint64_t reg(self, int regid) except? 0xFFFFFFFFFFFFFFFF:
        cdef uint64_t v = 0
        check(uc_reg_read(self.uc, regid, &v), "reg read")
        return v

    cpdef set_reg(self, int regid, uint64_t value):
        check(uc_reg_write(self.uc, regid, &value), "reg write")

    def x(self, int n):
        """General register Xn (0..30)."""
        return self.reg(_xreg(n))

    def set_x(self, int n, uint64_t value):
        self.set_reg(_xreg(n), value)

    def xregs(self):
        """X0..X30 as a list, in one C call."""
        cdef int ids[31]
        cdef uint64_t vals[31]
        cdef void *ptrs[31]
        cdef int i
        for i in range(31):
            ids[i] = _xreg(i)
            ptrs[i] = &vals[i]
        check(uc_reg_read_batch(self.uc, ids, ptrs, 31), "reg read batch")
        return [vals[i] for i in range(31)]

    def set_xregs(self, values):
        cdef int i
        for i, v in enumerate(values):
            self.set_reg(_xreg(i), v)

    def simd_state(self):
        """(V0..V31 as 512 bytes, FPSR, FPCR) for signal frames."""
        cdef unsigned char buf[512]
        cdef uint32_t fpsr = 0, fpcr = 0
        cdef int i
        for i in range(32):
            check(uc_reg_read(self.uc, UC_ARM64_REG_Q0 + i, &buf[16 * i]), "reg read q")
        check(uc_reg_read(self.uc, UC_ARM64_REG_FPSR, &fpsr), "reg read fpsr")
        check(uc_reg_read(self.uc, UC_ARM64_REG_FPCR, &fpcr), "reg read fpcr")
        return bytes(buf[:512]), fpsr, fpcr

    def set_simd_state(self, const unsigned char[:] vregs, uint32_t fpsr, uint32_t fpcr):
        cdef int i
        if vregs.shape[0] != 512:
            raise ValueError("need 32 x 16 bytes")
        for i in range(32):
            check(uc_reg_write(self.uc, UC_ARM64_REG_Q0 + i, &vregs[16 * i]), "reg write q")
        check(uc_reg_write(self.uc, UC_ARM64_REG_FPSR, &fpsr), "reg write fpsr")
        check(uc_reg_write(self.uc, UC_ARM64_REG_FPCR, &fpcr), "reg write fpcr")

    @property
    def nzcv(self):
        return self.reg(UC_ARM64_REG_NZCV)

    @nzcv.setter
    def nzcv(self, uint64_t v):
        self.set_reg(UC_ARM64_REG_NZCV, v)

    @property
    def pc(self):
        return self.reg(UC_ARM64_REG_PC)

    @pc.setter
    def pc(self, uint64_t v):
        self.set_reg(UC_ARM64_REG_PC, v)

    @property
    def sp(self):
        return self.reg(UC_ARM64_REG_SP)

    @sp.setter
    def sp(self, uint64_t v):
        self.set_reg(UC_ARM64_REG_SP, v)

    @property
    def tls(self):
        return self.sysreg(TPIDR_EL0)

    @tls.setter
    def tls(self, uint64_t v):
        self.set_sysreg(TPIDR_EL0, v)

    def sysreg(self, key):
        cdef uc_arm64_cp_reg r
        r.op0, r.op1, r.crn, r.crm, r.op2 = key
        r.val = 0
        check(uc_reg_read(self.uc, UC_ARM64_REG_CP_REG, &r), f"read sysreg {key}")
        return r.val

    def set_sysreg(self, key, uint64_t value):
        cdef uc_arm64_cp_reg r
        r.op0, r.op1, r.crn, r.crm, r.op2 = key
        r.val = value
        check(uc_reg_write(self.uc, UC_ARM64_REG_CP_REG, &r), f"write sysreg {key}")

    # -- memory and caches ----------------------------------------------------------
    def ram_view(self):
        """A writable memoryview of all of RAM (physical addresses)."""
        return memoryview(self._ram_map)

    @property
    def phys_base(self):
        """Physical address of the first byte of RAM."""
        return PHYS_BASE

    def engine_address(self):
        return <size_t>self.uc

    @property
    def running(self):
        """True while guest code runs (inside a hook, for the kernel)."""
        return self._running

    def flush_tlb(self):
        """Drop every cached translation (address-space switch, unmap, downgrade)."""
        check(uc_ctl_flush_tlb(self.uc), "tlb flush")

    def flush_code(self):
        """Drop every translated block (memory that held code was rewritten)."""
        check(uc_ctl_flush_tb(self.uc), "tb flush")

    # -- contexts -------------------------------------------------------------------
    def new_context(self):
        return CpuContext(self)

    # -- running --------------------------------------------------------------------
    cpdef void request_stop(self):
        """Called by a syscall handler: stop the CPU once the handler returns."""
        self._stop_requested = True

    cpdef int run(self) except -1:
        """Run the loaded context at EL0 until a tick, a stop request, an
        exception or a fault.  The GIL is released while guest code runs."""
        cdef uint64_t pc = 0
        cdef uc_err err
        uc_reg_read(self.uc, UC_ARM64_REG_PC, &pc)
        self._stop_requested = False
        self.exception = 0
        self._ticked = False
        self.blocked_pc = 0
        self._running = True
        self.slice_start = _now_ns()
        with nogil:
            err = uc_emu_start(self.uc, pc, STOP_ADDR, 0, 0)
        self.slice_spent = _now_ns() - self.slice_start
        self.slice_start = 0
        self._running = False
        if self._stop_requested:
            return EXIT_STOP
        if self.exception:
            return EXIT_EXCEPTION
        if err != UC_ERR_OK and not self._ticked:
            self.last_error = err
            return EXIT_FAULT
        # A tick (a real fault racing with it simply happens again).
        return EXIT_TICK

    cpdef int resume_syscall(self, uint64_t svc_pc) except -1:
        """Run again, without entering guest code, the syscall the loaded
        task sleeps in, when a C fast handler takes it: the kernel loop
        calls this for a woken task whose PC is still ``svc_pc``, the SVC
        it was rewound to.  That saves the exception round trip (and the
        GIL hand-over of the hook) of the re-executed SVC: a pipe reader
        woken by a writer completes its read here.  FAST_DONE: X0 holds
        the result and PC is past the SVC; FAST_BLOCK: it sleeps again;
        FAST_PASS: run the guest, the SVC executes as usual."""
        cdef uint64_t r[8]
        cdef void *ptrs[8]
        cdef int ids[8]
        cdef int i, fast = FAST_PASS
        cdef uint64_t uresult = 0, t0
        for i in range(7):
            ids[i] = _SYSCALL_REGS[i]
            ptrs[i] = &r[i]
        ids[7] = UC_ARM64_REG_PC
        ptrs[7] = &r[7]
        uc_reg_read_batch(self.uc, ids, ptrs, 8)
        if r[7] != svc_pc or r[6] >= FAST_MAX or self.fast[r[6]] == NULL:
            return FAST_PASS
        t0 = _now_ns()
        try:
            fast = self.fast[r[6]](self.task, r, &uresult)
        except BaseException:
            fast = FAST_PASS            # the SVC runs and the Python handler reports
        if fast == FAST_DONE:
            uc_reg_write(self.uc, UC_ARM64_REG_X0, &uresult)
            r[7] += 4
            uc_reg_write(self.uc, UC_ARM64_REG_PC, &r[7])
        if fast != FAST_PASS:
            self.syscalls += 1
            self.fast_calls += 1
            self.resumed += 1
            self.sys_ns += _now_ns() - t0
        return fast

    cdef void _on_intr(self, uint32_t intno):
        cdef uint64_t r[7]
        cdef void *ptrs[7]
        cdef int i
        cdef uint64_t uresult
        cdef int fast = FAST_PASS
        cdef uint64_t pc
        cdef uint64_t t0
        if intno != EXCP_SWI:
            # PC is on the faulting instruction; the kernel turns it into a signal.
            self.exception = intno
            uc_emu_stop(self.uc)
            return
        for i in range(7):
            ptrs[i] = &r[i]
        uc_reg_read_batch(self.uc, _SYSCALL_REGS, ptrs, 7)
        self.syscalls += 1
        t0 = _now_ns()
        nr = r[6]
        try:
            if r[6] < FAST_MAX and self.fast[r[6]] != NULL:
                fast = self.fast[r[6]](self.task, r, &uresult)
            if fast == FAST_DONE:
                ret = 0
                self.fast_calls += 1
            elif fast == FAST_BLOCK:
                ret = None
                self.fast_calls += 1
            else:
                table = self.syscall_table
                if nr < <uint64_t>len(table):
                    ret = table[nr](self.task, r[0], r[1], r[2], r[3], r[4], r[5])
                else:
                    ret = self.fallback(self.task, nr, r[0], r[1], r[2], r[3], r[4], r[5])
        except BaseException as exc:
            try:
                ret = self.on_error(self.task, nr, exc)
            except BaseException:
                ret = -38   # ENOSYS; on_error itself must never fail
        if ret is None:
            # Blocked: re-execute the SVC when the task runs again.
            uc_reg_read(self.uc, UC_ARM64_REG_PC, &pc)
            pc -= 4
            uc_reg_write(self.uc, UC_ARM64_REG_PC, &pc)
            self.blocked_pc = pc
            self._stop_requested = True
        elif fast == FAST_DONE:
            uc_reg_write(self.uc, UC_ARM64_REG_X0, &uresult)
        else:
            # -errno or a value up to 2^64-1 (rt_sigreturn restores any x0).
            try:
                if ret >= 0:
                    uresult = ret
                else:
                    uresult = <uint64_t>(<int64_t>ret)
            except (OverflowError, TypeError):
                uresult = <uint64_t>(-5)       # EIO: a handler returned nonsense
            uc_reg_write(self.uc, UC_ARM64_REG_X0, &uresult)
        # System time: the handler's share of the slice (getrusage, times).
        self.sys_ns += _now_ns() - t0
        if self._stop_requested:
            uc_emu_stop(self.uc)

    # -- preemption -------------------------------------------------------------------
    def watchdog(self, unsigned int tick_us):
        """Body of the watchdog thread: stop the CPU every ``tick_us`` while
        guest code runs, so a program that never makes a syscall is still
        preempted.  Runs without the GIL until ``stop_watchdog``."""
        cdef unsigned int slept
        with nogil:
            while self._watching:
                # Sleep in short steps so stop_watchdog takes effect quickly.
                slept = 0
                while slept < tick_us and self._watching:
                    usleep(min(tick_us - slept, 2000))
                    slept += 2000
                if self._running and self._watching:
                    self._ticked = True
                    self.tick_pending = 1

    def start_watchdog(self, unsigned int tick_us):
        """Start the watchdog thread (armed before it runs, so a stop that
        comes first is never lost)."""
        import threading
        self._watching = True
        t = threading.Thread(target=self.watchdog, args=(tick_us,), name="akuma-tick",
                             daemon=True)
        t.start()
        return t

    def stop_watchdog(self):
        self._watching = False

    def interrupt(self):
        """Stop the guest as soon as possible (any thread, e.g. a host signal)."""
        if self._running:
            uc_emu_stop(self.uc)


cdef inline int _xreg(int n) except -1:
    if n < 0 or n > 30:
        raise ValueError(f"no register X{n}")
    if n < 29:
        return UC_ARM64_REG_X0 + n
    return UC_ARM64_REG_X29 if n == 29 else UC_ARM64_REG_X30


cdef class CpuContext:
    """A saved register context (all of the CPU state: X, SIMD, SP, PC,
    PSTATE, TPIDR_EL0), switched with uc_context_save/restore."""

    def __cinit__(self, Cpu cpu):
        self.cpu = cpu
        check(uc_context_alloc(cpu.uc, &self.ctx), "context alloc")

    def __dealloc__(self):
        if self.ctx != NULL:
            uc_context_free(self.ctx)

    def save(self):
        check(uc_context_save(self.cpu.uc, self.ctx), "context save")

    def copy_from(self, CpuContext other):
        """Become a copy of ``other`` (fork: the child starts where the
        parent stopped)."""
        cdef uc_context *tmp
        # Through the CPU, then restored: unicorn has no context-to-context copy.
        check(uc_context_alloc(self.cpu.uc, &tmp), "context alloc")
        try:
            check(uc_context_save(self.cpu.uc, tmp), "context save")
            check(uc_context_restore(self.cpu.uc, other.ctx), "context restore")
            check(uc_context_save(self.cpu.uc, self.ctx), "context save")
            check(uc_context_restore(self.cpu.uc, tmp), "context restore")
        finally:
            uc_context_free(tmp)

    def reg(self, int regid):
        cdef uint64_t v = 0
        check(uc_context_reg_read(self.ctx, regid, &v), "context reg read")
        return v

    def set_reg(self, int regid, uint64_t value):
        check(uc_context_reg_write(self.ctx, regid, &value), "context reg write")

    def set_x(self, int n, uint64_t value):
        self.set_reg(_xreg(n), value)

    def restore(self):
        check(uc_context_restore(self.cpu.uc, self.ctx), "context restore")


_SYSCALL_REGS[0] = UC_ARM64_REG_X0
_SYSCALL_REGS[1] = UC_ARM64_REG_X1
_SYSCALL_REGS[2] = UC_ARM64_REG_X2
_SYSCALL_REGS[3] = UC_ARM64_REG_X3
_SYSCALL_REGS[4] = UC_ARM64_REG_X4
_SYSCALL_REGS[5] = UC_ARM64_REG_X5
_SYSCALL_REGS[6] = UC_ARM64_REG_X8
