"""The CPU running real AArch64 instructions at EL0 through the MMU's fill
callback: SVC dispatch into the syscall table, blocking, handler errors,
data faults recorded for the kernel, undefined instructions, demand-zero
and write protection seen by guest code."""
import struct
import threading

import pytest

from akuma.arch import Cpu, RunExit, EXCP_UDEF
from akuma.mm import (FrameAllocator, Mmu, AddressSpace, PROT_READ, PROT_WRITE, PROT_EXEC,
                      MAPERR, ACCERR, ACCESS_READ, ACCESS_WRITE, ACCESS_FETCH)

CODE = 0x40_0000
DATA = 0x50_0000
P = 4096


def movz(rd, imm16, shift=0):
    return 0xD2800000 | ((shift // 16) << 21) | (imm16 << 5) | rd


def movk(rd, imm16, shift):
    return 0xF2800000 | ((shift // 16) << 21) | (imm16 << 5) | rd


def mov64(rd, value):
    out = [movz(rd, value & 0xFFFF)]
    for sh in (16, 32, 48):
        part = (value >> sh) & 0xFFFF
        if part:
            out.append(movk(rd, part, sh))
    return out


SVC0 = 0xD4000001
UDF = 0x00000000
B_SELF = 0x14000000


def ldr(rt, rn):         # ldr xt, [xn]
    return 0xF9400000 | (rn << 5) | rt


def str_(rt, rn):        # str xt, [xn]
    return 0xF9000000 | (rn << 5) | rt


class Machine:
    def __init__(self, code_words):
        self.cpu = Cpu(16 << 20)
        self.frames = FrameAllocator(self.cpu)
        self.mmu = Mmu(self.cpu, self.frames)
        self.a = AddressSpace(self.frames, on_tlb_stale=self.mmu.sync)
        self.a.map(CODE, P, PROT_READ | PROT_WRITE)
        self.a.write(CODE, struct.pack(f"<{len(code_words)}I", *code_words))
        self.a.protect(CODE, P, PROT_READ | PROT_EXEC)
        self.a.map(DATA, P, PROT_READ | PROT_WRITE)
        self.mmu.switch(self.a.pt)
        self.calls = []
        self.cpu.syscall_table = [self._enosys] * 300
        self.cpu.fallback = self._fallback
        self.cpu.on_error = self._on_error
        self.errors = []
        self.cpu.task = "task0"
        self.cpu.pc = CODE

    def _enosys(self, t, *args):
        return -38

    def _fallback(self, t, nr, *args):
        self.calls.append(("fallback", nr))
        self.cpu.request_stop()
        return -38

    def _on_error(self, t, nr, exc):
        self.errors.append((t, nr, exc))
        return -5

    def exit_handler(self, t, *args):
        self.calls.append(("exit", args[0]))
        self.cpu.request_stop()
        return 0


def test_svc_dispatch_args_and_result():
    prog = (mov64(0, 11) + mov64(1, 22) + mov64(5, 66) + [movz(8, 172), SVC0]
            + [movz(8, 93), SVC0])
    m = Machine(prog)
    seen = []

    def getpid(t, *args):
        seen.append((t, args))
        return 4242

    m.cpu.syscall_table[172] = getpid
    m.cpu.syscall_table[93] = m.exit_handler
    assert m.cpu.run() == RunExit.EXIT_STOP
    assert seen == [("task0", (11, 22, 0, 0, 0, 66))]
    assert m.calls == [("exit", 4242)]     # X0 held the previous result
    assert m.cpu.syscalls == 2
    # Stopped after the SVC: PC is the next instruction.
    assert m.cpu.pc == CODE + 4 * len(prog)


def test_negative_result_is_written_as_64_bit():
    m = Machine([movz(8, 63), SVC0, movz(8, 93), SVC0])
    m.cpu.syscall_table[63] = lambda t, *a: -14
    m.cpu.syscall_table[93] = m.exit_handler
    assert m.cpu.run() == RunExit.EXIT_STOP
    assert m.calls == [("exit", (1 << 64) - 14)]


def test_blocking_handler_re_executes_the_svc():
    m = Machine([movz(8, 63), SVC0, movz(8, 93), SVC0])
    state = {"n": 0}

    def read(t, *a):
        state["n"] += 1
        return None if state["n"] == 1 else 7

    m.cpu.syscall_table[63] = read
    m.cpu.syscall_table[93] = m.exit_handler
    assert m.cpu.run() == RunExit.EXIT_STOP
    assert m.cpu.pc == CODE + 4        # back on the SVC
    assert m.calls == []
    assert m.cpu.run() == RunExit.EXIT_STOP
    assert state["n"] == 2
    assert m.calls == [("exit", 7)]


def test_handler_exception_goes_to_on_error():
    m = Machine([movz(8, 64), SVC0, movz(8, 93), SVC0])

    def boom(t, *a):
        raise ZeroDivisionError("oops")

    m.cpu.syscall_table[64] = boom
    m.cpu.syscall_table[93] = m.exit_handler
    assert m.cpu.run() == RunExit.EXIT_STOP
    assert len(m.errors) == 1
    t, nr, exc = m.errors[0]
    assert (t, nr) == ("task0", 64) and isinstance(exc, ZeroDivisionError)
    assert m.calls == [("exit", (1 << 64) - 5)]


def test_failing_on_error_gives_enosys():
    m = Machine([movz(8, 64), SVC0, movz(8, 93), SVC0])
    m.cpu.syscall_table[64] = lambda t, *a: 1 // 0

    def bad_on_error(t, nr, exc):
        raise RuntimeError("on_error broke")

    m.cpu.on_error = bad_on_error
    m.cpu.syscall_table[93] = m.exit_handler
    assert m.cpu.run() == RunExit.EXIT_STOP
    assert m.calls == [("exit", (1 << 64) - 38)]


def test_numbers_past_the_table_use_the_fallback():
    m = Machine([movz(8, 999), SVC0, UDF])
    assert m.cpu.run() == RunExit.EXIT_STOP
    assert m.calls == [("fallback", 999)]


def test_guest_store_and_load_through_demand_zero_pages():
    prog = (mov64(1, DATA + 8) + [ldr(2, 1)] + mov64(3, 0x1122334455667788) + [str_(3, 1)]
            + [movz(8, 93), SVC0])
    m = Machine(prog)
    m.cpu.syscall_table[93] = m.exit_handler
    free = m.frames.free
    assert m.cpu.run() == RunExit.EXIT_STOP
    assert m.cpu.x(2) == 0                         # fresh page reads as zeros
    assert m.a.read(DATA + 8, 8) == struct.pack("<Q", 0x1122334455667788)
    assert m.frames.free == free - 1


def test_kernel_writes_are_seen_by_the_guest():
    prog = mov64(1, DATA) + [ldr(0, 1), movz(8, 93), SVC0]
    m = Machine(prog)
    m.a.write(DATA, struct.pack("<Q", 0xCAFEBABE))
    m.cpu.syscall_table[93] = m.exit_handler
    assert m.cpu.run() == RunExit.EXIT_STOP
    assert m.calls == [("exit", 0xCAFEBABE)]


def test_load_from_unmapped_is_a_fault_exit():
    prog = mov64(1, 0x60_0010) + [ldr(0, 1), movz(8, 93), SVC0]
    m = Machine(prog)
    m.cpu.syscall_table[93] = m.exit_handler
    assert m.cpu.run() == RunExit.EXIT_FAULT
    addr, access, code = m.a.pt.take_fault()
    assert addr & ~0xFFF == 0x60_0000
    assert access == ACCESS_READ and code == MAPERR
    # PC is on the faulting load.
    assert m.cpu.pc == CODE + 4 * (len(prog) - 3)
    assert m.a.pt.take_fault()[2] == 0          # taken: forgotten


def test_store_to_read_only_is_accerr_and_resumable():
    prog = mov64(1, DATA) + [str_(1, 1), movz(8, 93), SVC0]
    m = Machine(prog)
    m.a.protect(DATA, P, PROT_READ)
    m.cpu.syscall_table[93] = m.exit_handler
    assert m.cpu.run() == RunExit.EXIT_FAULT
    addr, access, code = m.a.pt.take_fault()
    assert (addr & ~0xFFF, access, code) == (DATA, ACCESS_WRITE, ACCERR)
    # The kernel fixes the rights and resumes: the store now completes.
    m.a.protect(DATA, P, PROT_READ | PROT_WRITE)
    assert m.cpu.run() == RunExit.EXIT_STOP
    assert m.a.read(DATA, 8) == struct.pack("<Q", DATA)


def test_jump_to_non_executable_is_fetch_fault():
    prog = mov64(1, DATA) + [0xD61F0020]      # br x1
    m = Machine(prog)
    assert m.cpu.run() == RunExit.EXIT_FAULT
    addr, access, code = m.a.pt.take_fault()
    assert (addr, access, code) == (DATA, ACCESS_FETCH, ACCERR)


def test_undefined_instruction_is_an_exception_exit():
    m = Machine([0xD503201F, UDF])            # nop; udf #0
    assert m.cpu.run() == RunExit.EXIT_EXCEPTION
    assert m.cpu.exception == EXCP_UDEF
    assert m.cpu.pc == CODE + 4


def _run_with_watchdog(m):
    th = m.cpu.start_watchdog(5000)
    try:
        return m.cpu.run()
    finally:
        m.cpu.stop_watchdog()
        th.join(10)
        assert not th.is_alive()


def test_watchdog_stops_a_loop_without_a_fault_record():
    m = Machine([B_SELF])
    why = _run_with_watchdog(m)
    assert why in (RunExit.EXIT_TICK, RunExit.EXIT_FAULT)
    assert m.cpu.pc == CODE
    # Whatever the exit says, no access was refused: the kernel resumes.
    assert m.a.pt.take_fault()[2] == 0
    assert m.cpu.exception == 0


def test_watchdog_tick_is_reported_as_tick():
    m = Machine([0xD503201F] * 4 + [B_SELF])
    assert _run_with_watchdog(m) == RunExit.EXIT_TICK


def test_rewritten_code_is_re_translated():
    """Code rewritten through the kernel's door runs as the new code (the
    frame's translated blocks are dropped)."""
    m = Machine([movz(0, 1), movz(8, 93), SVC0])
    m.cpu.syscall_table[93] = m.exit_handler
    assert m.cpu.run() == RunExit.EXIT_STOP
    m.a.protect(CODE, P, PROT_READ | PROT_WRITE)
    m.a.write(CODE, struct.pack("<I", movz(0, 2)))
    m.a.protect(CODE, P, PROT_READ | PROT_EXEC)
    m.cpu.pc = CODE
    assert m.cpu.run() == RunExit.EXIT_STOP
    assert m.calls == [("exit", 1), ("exit", 2)]


def another_space(m, value):
    """An address space running ``m``'s code, with ``value`` at DATA."""
    a = AddressSpace(m.frames, on_tlb_stale=m.mmu.sync)
    code = m.a.read(CODE, P)
    a.map(CODE, P, PROT_READ | PROT_WRITE)
    a.write(CODE, code)
    a.protect(CODE, P, PROT_READ | PROT_EXEC)
    a.map(DATA, P, PROT_READ | PROT_WRITE)
    a.write(DATA, struct.pack("<Q", value))
    return a


def test_switching_address_spaces():
    m = Machine(mov64(1, DATA) + [ldr(0, 1), movz(8, 93), SVC0])
    m.cpu.syscall_table[93] = m.exit_handler
    m.a.write(DATA, struct.pack("<Q", 111))
    other = another_space(m, 222)
    assert m.cpu.run() == RunExit.EXIT_STOP
    m.mmu.switch(other.pt)
    m.cpu.pc = CODE
    assert m.cpu.run() == RunExit.EXIT_STOP
    m.mmu.switch(m.a.pt)
    m.cpu.pc = CODE
    assert m.cpu.run() == RunExit.EXIT_STOP
    assert m.calls == [("exit", 111), ("exit", 222), ("exit", 111)]
