"""akuma.arch — the unicorn AArch64 core.

Owns RAM, CPU set-up, EL0 entry, exception entry (SVC and other synchronous
exceptions), register contexts, TLB maintenance and the preemption watchdog.
Uses nothing else of Akuma's."""
# libunicorn.so.2 must be loaded before the extension that links to it: the
# dynamic loader then reuses it whatever the extension's rpath says.
import unicorn as _unicorn  # noqa: F401

from akuma.arch.cpu import (  # noqa: E402
    Cpu, CpuContext, CpuError, RunExit,
    EXCP_UDEF, EXCP_SWI, EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT, EXCP_BKPT,
    SCTLR_EL1, CPACR_EL1, TPIDR_EL0, REG_SP, REG_PC, REG_TPIDR_EL0,
)
from akuma.arch.hwcap import hwcaps  # noqa: E402

__all__ = ["Cpu", "CpuContext", "CpuError", "RunExit", "hwcaps",
           "EXCP_UDEF", "EXCP_SWI", "EXCP_PREFETCH_ABORT", "EXCP_DATA_ABORT", "EXCP_BKPT",
           "SCTLR_EL1", "CPACR_EL1", "TPIDR_EL0", "REG_SP", "REG_PC", "REG_TPIDR_EL0"]
