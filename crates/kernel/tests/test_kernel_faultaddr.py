"""Decoding the faulting load/store for an exact si_addr."""
import pytest

from akuma.kernel.faultaddr import effective_address

X = [0] * 31
X[1], X[2], X[10], X[12] = 0x1000, 0x2000, 0x10000, 5
SP = 0x7000


@pytest.mark.parametrize("insn,addr,size", [
    (0xF9400420, 0x1008, 8),          # ldr x0, [x1, #8]
    (0x39000C20, 0x1003, 1),          # strb w0, [x1, #3]
    (0xB8004441, 0x2000, 4),          # str w1, [x2], #4      (post-index: the base)
    (0xF85F8020, 0x0FF8, 8),          # ldur x0, [x1, #-8]
    (0xB86C794C, 0x10014, 4),         # ldr w12, [x10, x12, lsl #2]
    (0xA94107E1, 0x7010, 16),         # ldp x1, x1?/x2 pair, [sp, #16]
    (0xF8408C20, 0x1008, 8),          # ldr x0, [x1, #8]!     (pre-index)
])
def test_effective_address(insn, addr, size):
    assert effective_address(insn, X, SP) == (addr, size)


@pytest.mark.parametrize("insn", [0xD503201F, 0x8B020020, 0x14000000])   # nop, add, b
def test_not_a_load_store(insn):
    assert effective_address(insn, X, SP) is None
