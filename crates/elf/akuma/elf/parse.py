"""ELF64 parsing that never trusts a field: every offset, size and count is
checked against the file before use, and every problem is an ElfError with a
one-line message a user can act on."""
import struct
from dataclasses import dataclass, field

ELF_MAGIC = b"\x7fELF"
ET_EXEC, ET_DYN = 2, 3
EM_AARCH64 = 183
PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_PHDR, PT_TLS = 1, 2, 3, 4, 6, 7
PT_GNU_STACK = 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4
USER_TOP = 1 << 48
MAX_PHNUM = 512

_MACHINES = {3: "x86 (i386)", 62: "x86-64", 40: "32-bit ARM", 8: "MIPS", 243: "RISC-V",
             20: "PowerPC", 21: "PowerPC64", 22: "s390"}

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")


class ElfError(Exception):
    """Not a loadable AArch64 ELF; the message says why."""


@dataclass
class Segment:
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    align: int


@dataclass
class ElfImage:
    type: int
    entry: int
    phoff: int
    phentsize: int
    phnum: int
    segments: list = field(default_factory=list)
    interp: str | None = None
    exec_stack: bool = False

    @property
    def loads(self):
        return [s for s in self.segments if s.type == PT_LOAD]

    @property
    def is_pie(self):
        return self.type == ET_DYN


def parse(data, size=None, read=None):
    """Parse and validate an ELF image held in ``data`` (bytes-like).

    For a file read lazily, ``data`` is its head (it must hold the program
    headers), ``size`` the file's size and ``read(off, n)`` reads the rest."""
    size = len(data) if size is None else size
    if read is None:
        def read(off, n):
            return bytes(data[off:off + n])
    if len(data) < 4 or bytes(data[:4]) != ELF_MAGIC:
        raise ElfError("not an ELF file")
    if len(data) < _EHDR.size:
        raise ElfError("truncated ELF header")
    (ident, e_type, machine, version, entry, phoff, _shoff, _flags, ehsize,
     phentsize, phnum, _shentsize, _shnum, _shstrndx) = _EHDR.unpack_from(data, 0)
    if ident[4] != 2:
        raise ElfError("32-bit ELF; only ELF64 AArch64 programs run here")
    if ident[5] != 1:
        raise ElfError("big-endian ELF; only little-endian AArch64 programs run here")
    if machine != EM_AARCH64:
        name = _MACHINES.get(machine, f"machine {machine}")
        raise ElfError(f"wrong architecture: {name} binary, not AArch64")
    if e_type not in (ET_EXEC, ET_DYN):
        kinds = {0: "no file type", 1: "a relocatable object (.o)", 4: "a core dump"}
        raise ElfError(f"not an executable: {kinds.get(e_type, f'type {e_type}')}")
    if phentsize != _PHDR.size:
        raise ElfError(f"malformed ELF: program header size {phentsize}")
    if phnum == 0 or phnum > MAX_PHNUM:
        raise ElfError(f"malformed ELF: {phnum} program headers")
    if phoff + phnum * phentsize > min(len(data), size):
        raise ElfError("truncated ELF: program headers past end of file")
    img = ElfImage(e_type, entry, phoff, phentsize, phnum)
    for i in range(phnum):
        seg = Segment(*_unpack_phdr(data, phoff + i * phentsize))
        img.segments.append(seg)
        _check_segment(seg, size)
        if seg.type == PT_INTERP:
            raw = read(seg.offset, seg.filesz)
            if not raw.endswith(b"\0") or len(raw) < 2:
                raise ElfError("malformed ELF: bad PT_INTERP")
            img.interp = raw[:-1].decode("utf-8", "replace")
        elif seg.type == PT_GNU_STACK:
            img.exec_stack = bool(seg.flags & PF_X)
    loads = sorted(img.loads, key=lambda s: s.vaddr)
    if not loads:
        raise ElfError("malformed ELF: no loadable segment")
    for a, b in zip(loads, loads[1:]):
        if a.vaddr + a.memsz > b.vaddr:
            raise ElfError("malformed ELF: overlapping segments")
    span = loads[-1].vaddr + loads[-1].memsz - (loads[0].vaddr & ~4095)
    if span > USER_TOP // 2:
        raise ElfError("malformed ELF: segments span too much memory")
    if e_type == ET_EXEC and not any(s.vaddr <= entry < s.vaddr + s.memsz for s in loads):
        raise ElfError("malformed ELF: entry point outside the loaded segments")
    return img


def _unpack_phdr(data, off):
    p_type, p_flags, p_offset, p_vaddr, _paddr, p_filesz, p_memsz, p_align = \
        _PHDR.unpack_from(data, off)
    return p_type, p_flags, p_offset, p_vaddr, p_filesz, p_memsz, p_align


def _check_segment(seg, size):
    if seg.type not in (PT_LOAD, PT_INTERP):
        return
    if seg.offset + seg.filesz > size or seg.offset + seg.filesz < seg.offset:
        raise ElfError("truncated ELF: segment data past end of file")
    if seg.type == PT_LOAD:
        if seg.filesz > seg.memsz:
            raise ElfError("malformed ELF: segment file size exceeds memory size")
        if seg.vaddr + seg.memsz > USER_TOP or seg.vaddr + seg.memsz < seg.vaddr:
            raise ElfError("malformed ELF: segment outside the user address space")
        if (seg.vaddr - seg.offset) % 4096 or seg.offset < seg.vaddr % 4096:
            raise ElfError("malformed ELF: segment offset and address not congruent")
    if seg.type == PT_INTERP and not 1 < seg.filesz <= 4096:
        raise ElfError("malformed ELF: bad PT_INTERP")
