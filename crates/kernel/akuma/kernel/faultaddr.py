"""The exact address of a data abort.  unicorn's TLB-fill callback sees
only the page, so the faulting load/store is decoded (the common A64
load/store classes: immediate, pre/post-index, unscaled, register offset,
pairs) to recompute its effective address from the registers."""
import struct


def _sext(v, bits):
    return v - (1 << bits) if v & (1 << (bits - 1)) else v


def _reg(x, sp, n):
    return sp if n == 31 else x[n]


def _extend(val, option, shift):
    val &= (1 << 64) - 1
    if option == 0b010:            # UXTW
        val &= 0xFFFFFFFF
    elif option == 0b110:          # SXTW
        val = _sext(val & 0xFFFFFFFF, 32)
    elif option == 0b111:          # SXTX
        val = _sext(val, 64)
    return val << shift


def effective_address(insn, x, sp):
    """(address, size) of the access ``insn`` makes, or None if it is not a
    load/store this decoder knows."""
    if (insn >> 27) & 1 != 1 or (insn >> 25) & 1 != 0:
        return None
    rn = (insn >> 5) & 31
    base = _reg(x, sp, rn)
    v = (insn >> 26) & 1
    size = insn >> 30
    if (insn >> 27) & 0b111 == 0b101:                    # LDP/STP family
        opc = insn >> 30
        esize = (4 << opc) if v else (8 if opc & 2 else 4)
        mode = (insn >> 23) & 3
        imm = _sext((insn >> 15) & 0x7F, 7) * esize
        addr = base if mode == 1 else base + imm
        return addr & ((1 << 64) - 1), 2 * esize
    if (insn >> 27) & 0b111 != 0b111:
        return None
    if v:
        opc = (insn >> 22) & 3
        esize = 16 if (size == 0 and opc & 2) else 1 << size
    else:
        esize = 1 << size
    op24 = (insn >> 24) & 3
    if op24 == 1:                                         # unsigned immediate
        addr = base + ((insn >> 10) & 0xFFF) * esize
        return addr & ((1 << 64) - 1), esize
    if op24 != 0:
        return None
    if (insn >> 21) & 1 == 0:                             # imm9 forms
        imm = _sext((insn >> 12) & 0x1FF, 9)
        mode = (insn >> 10) & 3
        addr = base if mode == 1 else base + imm          # 01: post-index
        return addr & ((1 << 64) - 1), esize
    if (insn >> 10) & 3 == 2:                             # register offset
        rm = (insn >> 16) & 31
        option = (insn >> 13) & 7
        shift = ((insn >> 12) & 1) * (esize.bit_length() - 1)
        addr = base + _extend(x[rm] if rm != 31 else 0, option, shift)
        return addr & ((1 << 64) - 1), esize
    return None


def guess_fault_address(aspace, pc, x, sp):
    """The address the load/store at ``pc`` accesses; None if ``pc`` holds
    no readable load/store (then the fetch itself failed)."""
    try:
        (insn,) = struct.unpack("<I", aspace.read(pc, 4))
    except Exception:                # noqa: BLE001
        return None
    ea = effective_address(insn, x, sp)
    return None if ea is None else ea[0]


def fault_address(aspace, pc, x, sp, page):
    """The faulting byte: decoded from the instruction at ``pc`` when it
    points into ``page``; ``page`` itself otherwise."""
    try:
        (insn,) = struct.unpack("<I", aspace.read(pc, 4))
    except Exception:                # noqa: BLE001 — unreadable code: the page will do
        return page
    ea = effective_address(insn, x, sp)
    if ea is None:
        return page
    addr, size = ea
    if page <= addr < page + 4096:
        return addr
    if addr < page < addr + size:    # an access straddling into the page
        return page
    return page
