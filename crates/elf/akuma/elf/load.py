"""Loading an ELF image into an address space, and the initial user stack
(argv, envp, auxv) laid out as Linux's fs/binfmt_elf.c does."""
import struct
from dataclasses import dataclass

from akuma.mm import PROT_READ, PROT_WRITE, PROT_EXEC, PAGE_SIZE, page_align
from akuma.elf.parse import PF_R, PF_W, PF_X, PT_PHDR, ET_DYN, ElfError

# auxv types (include/uapi/linux/auxvec.h)
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_MINSIGSTKSZ = 23, 25, 26, 31, 51

PIE_BASE = 0xAAAA_AAAA_0000      # where ET_DYN programs go (like Linux's ELF_ET_DYN_BASE)
INTERP_BASE = 0xFFFF_8000_0000   # where the dynamic linker would go
STACK_TOP = 0xFFFF_FFFF_F000     # top of the main thread's stack
STACK_SIZE = 8 << 20             # mapped size (RLIMIT_STACK default)
MINSIGSTKSZ = 5120


@dataclass
class Loaded:
    entry: int            # the program's entry point (after relocation)
    base: int             # load bias (0 for ET_EXEC)
    phdr: int             # address of the program headers in memory
    phnum: int
    brk: int              # first byte after the highest segment
    exec_stack: bool


def _prot(flags):
    return ((PROT_READ if flags & PF_R else 0) | (PROT_WRITE if flags & PF_W else 0)
            | (PROT_EXEC if flags & PF_X else 0))


def load_image(aspace, img, data, base=None, mapping=None):
    """Map every PT_LOAD of ``img`` into ``aspace``: copied from the file
    bytes ``data``, or with ``mapping`` (a private FileMapping of the file)
    paged in lazily as the program touches it, as Linux's mmap of the
    segments does (nothing is read at exec time)."""
    loads = img.loads
    lo = loads[0].vaddr & ~(PAGE_SIZE - 1)
    hi = max(s.vaddr + s.memsz for s in loads)
    bias = 0
    if img.type == ET_DYN:
        bias = (PIE_BASE if base is None else base) - lo
    for seg in loads:
        start = (seg.vaddr + bias) & ~(PAGE_SIZE - 1)
        end = page_align(seg.vaddr + bias + seg.memsz)
        if end <= start:
            continue
        if mapping is not None:
            _map_lazily(aspace, img, seg, start, end, mapping)
            continue
        # Map writable for the copy, then give the segment its own rights.
        aspace.map(start, end - start, PROT_READ | PROT_WRITE, name=getattr(img, "path", ""))
        if seg.filesz:
            # Whole file pages, as mmap of the file would give (a page shared
            # with the previous segment holds the file's bytes for both).
            file_start = seg.offset - (seg.vaddr & (PAGE_SIZE - 1))
            aspace.write(start, data[file_start:seg.offset + seg.filesz])
        aspace.protect(start, end - start, _prot(seg.flags))
    phdr = next((s.vaddr for s in img.segments if s.type == PT_PHDR), None)
    if phdr is None:
        # The program headers sit inside the first segment that maps them.
        for seg in loads:
            if seg.offset <= img.phoff < seg.offset + seg.filesz:
                phdr = seg.vaddr + (img.phoff - seg.offset)
                break
        else:
            phdr = 0
    entry = img.entry + bias
    if not any(s.vaddr + bias <= entry < s.vaddr + bias + s.memsz for s in loads):
        raise ElfError("malformed ELF: entry point outside the loaded segments")
    return Loaded(entry, bias, phdr + bias if phdr else 0, img.phnum, hi + bias, img.exec_stack)


def _map_lazily(aspace, img, seg, start, end, mapping):
    """The segment's file pages as a private file mapping (bytes past
    filesz read as zeros), the rest of memsz as anonymous memory."""
    name = getattr(img, "path", "")
    prot = _prot(seg.flags)
    file_start = seg.offset - (seg.vaddr & (PAGE_SIZE - 1))
    file_end = page_align(start + (seg.offset + seg.filesz - file_start)) if seg.filesz else start
    if file_end > start:
        aspace.map(start, file_end - start, prot, name=name, file=mapping, pgoff=file_start,
                   limit=seg.offset + seg.filesz)
    if end > file_end:
        aspace.map(file_end, end - file_end, prot, name=name if file_end > start else "")


def build_stack(aspace, top, argv, envp, auxv, execfn, random16, platform=b"aarch64"):
    """Write strings, AT_RANDOM bytes, auxv, envp, argv and argc below ``top``
    (16-byte aligned, Linux order) and return the initial SP.

    ``auxv`` is a list of (type, value); AT_RANDOM, AT_EXECFN and
    AT_PLATFORM are added here since they point into the stack."""
    sp = top
    # Strings: execfn at the very top, then envp, then argv strings.
    def push_bytes(b):
        nonlocal sp
        sp -= len(b)
        aspace.write(sp, b)
        return sp
    execfn_addr = push_bytes(execfn + b"\0")
    env_addrs = [push_bytes(e + b"\0") for e in reversed(envp)][::-1]
    arg_addrs = [push_bytes(a + b"\0") for a in reversed(argv)][::-1]
    sp &= ~15
    platform_addr = push_bytes(platform + b"\0")
    sp &= ~15
    random_addr = push_bytes(random16)
    sp &= ~15
    entries = list(auxv) + [(AT_RANDOM, random_addr), (AT_EXECFN, execfn_addr),
                            (AT_PLATFORM, platform_addr), (AT_NULL, 0)]
    words = [len(argv)] + arg_addrs + [0] + env_addrs + [0]
    for k, v in entries:
        words += [k, v]
    size = len(words) * 8
    sp = (sp - size) & ~15
    aspace.write(sp, struct.pack(f"<{len(words)}Q", *words))
    return sp
