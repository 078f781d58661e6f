"""akuma.elf — ELF parsing and loading, the initial stack and auxv."""
from akuma.elf.parse import (
    parse, ElfError, ElfImage, Segment, ET_EXEC, ET_DYN, EM_AARCH64,
    PT_LOAD, PT_INTERP, PT_GNU_STACK, PT_PHDR, PT_TLS,
)
from akuma.elf.load import (
    load_image, build_stack, Loaded, PIE_BASE, STACK_TOP, STACK_SIZE, MINSIGSTKSZ,
    AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY,
    AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK, AT_SECURE,
    AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_MINSIGSTKSZ,
)

__all__ = [n for n in dir() if not n.startswith("_")]
