# The parts of libunicorn's C API (unicorn/unicorn.h, unicorn/arm64.h) that
# Akuma uses.  Declared extern: the C compiler supplies the enum values.
from libc.stdint cimport uint32_t, uint64_t, int64_t
from libcpp cimport bool as cbool

cdef extern from "unicorn/unicorn.h" nogil:
    ctypedef struct uc_engine:
        pass
    ctypedef struct uc_context:
        pass
    ctypedef size_t uc_hook

    ctypedef enum uc_err:
        UC_ERR_OK
        UC_ERR_EXCEPTION
        UC_ERR_FETCH_UNMAPPED
        UC_ERR_READ_UNMAPPED
        UC_ERR_WRITE_UNMAPPED

    ctypedef enum uc_arch:
        UC_ARCH_ARM64
    ctypedef enum uc_mode:
        UC_MODE_ARM
        UC_MODE_LITTLE_ENDIAN

    ctypedef enum uc_prot:
        UC_PROT_NONE
        UC_PROT_READ
        UC_PROT_WRITE
        UC_PROT_EXEC
        UC_PROT_ALL

    ctypedef enum uc_mem_type:
        UC_MEM_READ
        UC_MEM_WRITE
        UC_MEM_FETCH

    ctypedef enum uc_hook_type:
        UC_HOOK_INTR
        UC_HOOK_BLOCK
        UC_HOOK_TLB_FILL

    ctypedef enum uc_tlb_type:
        UC_TLB_CPU
        UC_TLB_VIRTUAL

    ctypedef struct uc_tlb_entry:
        uint64_t paddr
        uc_prot perms

    ctypedef void (*uc_cb_hookcode_t)(uc_engine *uc, uint64_t address, uint32_t size, void *user_data)
    ctypedef void (*uc_cb_hookintr_t)(uc_engine *uc, uint32_t intno, void *user_data)
    ctypedef cbool (*uc_cb_tlbevent_t)(uc_engine *uc, uint64_t vaddr, uc_mem_type type,
                                       uc_tlb_entry *result, void *user_data)

    uc_err uc_open(uc_arch arch, uc_mode mode, uc_engine **uc)
    uc_err uc_close(uc_engine *uc)
    const char *uc_strerror(uc_err code)
    uc_err uc_mem_map_ptr(uc_engine *uc, uint64_t address, size_t size, uint32_t perms, void *ptr)
    uc_err uc_reg_read(uc_engine *uc, int regid, void *value)
    uc_err uc_reg_write(uc_engine *uc, int regid, const void *value)
    uc_err uc_reg_read_batch(uc_engine *uc, int *regs, void **vals, int count)
    uc_err uc_reg_write_batch(uc_engine *uc, int *regs, void *const *vals, int count)
    uc_err uc_emu_start(uc_engine *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)
    uc_err uc_emu_stop(uc_engine *uc)
    uc_err uc_hook_add(uc_engine *uc, uc_hook *hh, int type, void *callback, void *user_data,
                       uint64_t begin, uint64_t end, ...)
    uc_err uc_hook_del(uc_engine *uc, uc_hook hh)
    uc_err uc_context_alloc(uc_engine *uc, uc_context **context)
    uc_err uc_context_save(uc_engine *uc, uc_context *context)
    uc_err uc_context_restore(uc_engine *uc, uc_context *context)
    uc_err uc_context_free(uc_context *context)
    uc_err uc_context_reg_write(uc_context *ctx, int regid, const void *value)
    uc_err uc_context_reg_read(uc_context *ctx, int regid, void *value)
    uc_err uc_free(void *mem)

    # uc_ctl is variadic; these are macros over it in the header.
    uc_err uc_ctl_set_page_size(uc_engine *uc, uint32_t page_size)
    uc_err uc_ctl_set_cpu_model(uc_engine *uc, int model)
    uc_err uc_ctl_tlb_mode(uc_engine *uc, int mode)
    uc_err uc_ctl_flush_tlb(uc_engine *uc)
    uc_err uc_ctl_flush_tb(uc_engine *uc)
    uc_err uc_ctl_remove_cache(uc_engine *uc, uint64_t address, uint64_t end)

cdef extern from "unicorn/arm64.h" nogil:
    ctypedef struct uc_arm64_cp_reg:
        uint32_t crn
        uint32_t crm
        uint32_t op0
        uint32_t op1
        uint32_t op2
        uint64_t val

    ctypedef enum uc_cpu_arm64:
        UC_CPU_ARM64_MAX

    ctypedef enum uc_arm64_reg:
        UC_ARM64_REG_X0
        UC_ARM64_REG_X1
        UC_ARM64_REG_X2
        UC_ARM64_REG_X3
        UC_ARM64_REG_X4
        UC_ARM64_REG_X5
        UC_ARM64_REG_X8
        UC_ARM64_REG_X29
        UC_ARM64_REG_X30
        UC_ARM64_REG_SP
        UC_ARM64_REG_PC
        UC_ARM64_REG_NZCV
        UC_ARM64_REG_PSTATE
        UC_ARM64_REG_TPIDR_EL0
        UC_ARM64_REG_CP_REG
        UC_ARM64_REG_FPCR
        UC_ARM64_REG_FPSR
        UC_ARM64_REG_Q0
