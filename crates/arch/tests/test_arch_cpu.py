"""akuma.arch: the unicorn core's construction, registers, system registers,
contexts and the HWCAP derivation."""
import pytest

from akuma.arch import (Cpu, CpuContext, CpuError, RunExit, hwcaps, SCTLR_EL1, CPACR_EL1,
                        TPIDR_EL0, EXCP_UDEF, EXCP_SWI, EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT)
from akuma.arch import hwcap as H

MiB = 1 << 20


@pytest.fixture(scope="module")
def cpu():
    return Cpu(64 * MiB)


# -- construction ----------------------------------------------------------------

def test_construct_64m(cpu):
    assert cpu.ram_size == 64 * MiB
    # RAM sits above every 48-bit user address.
    assert cpu.phys_base >= 1 << 48
    assert cpu.syscalls == 0
    assert cpu.exception == 0
    assert cpu.task is None


@pytest.mark.parametrize("size", [0, 1, 4096, 65535, 65536 + 4096, (64 * MiB) + 512])
def test_bad_ram_sizes_raise_value_error(size):
    with pytest.raises(ValueError, match="64 KiB"):
        Cpu(size)


def test_negative_ram_size_is_rejected():
    with pytest.raises((ValueError, OverflowError)):
        Cpu(-65536)


def test_smallest_ram_size():
    c = Cpu(65536)
    assert c.ram_size == 65536
    assert len(c.ram_view()) == 65536


def test_ram_view_is_writable_and_shared(cpu):
    v = cpu.ram_view()
    assert len(v) == cpu.ram_size
    assert not v.readonly
    v[4096:4100] = b"\xde\xad\xbe\xef"
    assert bytes(cpu.ram_view()[4096:4100]) == b"\xde\xad\xbe\xef"
    v[4096:4100] = bytes(4)


def test_exception_numbers():
    assert (EXCP_UDEF, EXCP_SWI, EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT) == (1, 2, 3, 4)
    assert [int(x) for x in RunExit] == [0, 1, 2, 3]


# -- registers -------------------------------------------------------------------

def test_x_register_round_trip(cpu):
    values = [(0x0123456789ABCDEF * (i + 1)) & 0xFFFF_FFFF_FFFF_FFFF for i in range(31)]
    for i, v in enumerate(values):
        cpu.set_x(i, v)
    for i, v in enumerate(values):
        assert cpu.x(i) == v, i
    assert cpu.xregs() == values


def test_x29_x30_are_distinct(cpu):
    # X29/X30 are not contiguous with X0..X28 in unicorn's numbering.
    cpu.set_x(28, 28)
    cpu.set_x(29, 29)
    cpu.set_x(30, 30)
    assert (cpu.x(28), cpu.x(29), cpu.x(30)) == (28, 29, 30)


def test_set_xregs(cpu):
    cpu.set_xregs(range(100, 131))
    assert cpu.xregs() == list(range(100, 131))


def test_full_64_bit_values(cpu):
    cpu.set_x(5, 0xFFFF_FFFF_FFFF_FFFF)
    assert cpu.x(5) == 0xFFFF_FFFF_FFFF_FFFF
    cpu.set_x(5, 0)
    assert cpu.x(5) == 0


@pytest.mark.parametrize("n", [31, 40, -1])
def test_x_out_of_range_is_rejected(cpu, n):
    with pytest.raises((ValueError, IndexError)):
        cpu.x(n)


def test_pc_sp_tls_properties(cpu):
    cpu.pc = 0x400123
    cpu.sp = 0xFFFF_FFFF_E000
    cpu.tls = 0x7F00_0000_1230
    assert cpu.pc == 0x400123
    assert cpu.sp == 0xFFFF_FFFF_E000
    assert cpu.tls == 0x7F00_0000_1230
    # tls is TPIDR_EL0.
    assert cpu.sysreg(TPIDR_EL0) == 0x7F00_0000_1230
    cpu.set_sysreg(TPIDR_EL0, 0x55)
    assert cpu.tls == 0x55


def test_sctlr_el0_bits(cpu):
    v = cpu.sysreg(SCTLR_EL1)
    assert v & (1 << 14), "DZE: EL0 may use DC ZVA"
    assert v & (1 << 15), "UCT: EL0 may read CTR_EL0"
    assert v & (1 << 26), "UCI: EL0 cache maintenance"


def test_cpacr_fpen(cpu):
    assert (cpu.sysreg(CPACR_EL1) >> 20) & 3 == 3


def test_sysreg_keys():
    assert SCTLR_EL1 == (3, 0, 1, 0, 0)
    assert CPACR_EL1 == (3, 0, 1, 0, 2)
    assert TPIDR_EL0 == (3, 3, 13, 0, 2)


# -- contexts --------------------------------------------------------------------

def test_context_save_restore(cpu):
    ctx = cpu.new_context()
    assert isinstance(ctx, CpuContext)
    cpu.set_xregs(range(1, 32))
    cpu.pc = 0x401000
    cpu.sp = 0x7FFF_F000
    cpu.tls = 0xABC0
    ctx.save()
    cpu.set_xregs([0xDEAD] * 31)
    cpu.pc = 0x999000
    cpu.sp = 0x1000
    cpu.tls = 0
    ctx.restore()
    assert cpu.xregs() == list(range(1, 32))
    assert cpu.pc == 0x401000
    assert cpu.sp == 0x7FFF_F000
    assert cpu.tls == 0xABC0


def test_two_contexts_are_independent(cpu):
    a, b = cpu.new_context(), CpuContext(cpu)
    cpu.set_x(0, 1)
    cpu.pc = 0x1000
    a.save()
    cpu.set_x(0, 2)
    cpu.pc = 0x2000
    b.save()
    a.restore()
    assert (cpu.x(0), cpu.pc) == (1, 0x1000)
    b.restore()
    assert (cpu.x(0), cpu.pc) == (2, 0x2000)
    # Restoring does not consume the context.
    a.restore()
    a.restore()
    assert (cpu.x(0), cpu.pc) == (1, 0x1000)


def test_context_keeps_el0_setup(cpu):
    ctx = cpu.new_context()
    ctx.save()
    ctx.restore()
    v = cpu.sysreg(SCTLR_EL1)
    assert v & (1 << 14) and v & (1 << 15) and v & (1 << 26)


def test_cpu_error_is_runtime_error():
    assert issubclass(CpuError, RuntimeError)


# -- HWCAP -----------------------------------------------------------------------

def test_hwcaps_basics(cpu):
    hwcap, hwcap2 = hwcaps(cpu)
    assert isinstance(hwcap, int) and isinstance(hwcap2, int)
    assert hwcap & (1 << 0), "FP"
    assert hwcap & (1 << 1), "ASIMD"


@pytest.mark.parametrize("bit,name", [(11, "CPUID"), (22, "SVE"), (30, "PACA"), (31, "PACG"),
                                      (2, "EVTSTRM")])
def test_hwcaps_not_advertised(cpu, bit, name):
    hwcap, _ = hwcaps(cpu)
    assert not hwcap & (1 << bit), name


@pytest.mark.parametrize("bit,name", [(1, "SVE2"), (17, "BTI"), (18, "MTE")])
def test_hwcap2_not_advertised(cpu, bit, name):
    _, hwcap2 = hwcaps(cpu)
    assert not hwcap2 & (1 << bit), name


def test_hwcaps_are_stable_across_cpus(cpu):
    assert hwcaps(cpu) == hwcaps(Cpu(1 * MiB))


def test_hwcaps_follow_the_id_registers():
    """hwcaps() reads the ID registers through cpu.sysreg; a fake core with
    chosen fields checks the rules themselves."""
    class FakeCpu:
        def __init__(self, regs):
            self.regs = regs

        def sysreg(self, key):
            return self.regs.get(key, 0)

    # FP and ASIMD "not implemented" is 0xF; LSE atomics need field >= 2.
    none = FakeCpu({H.ID_AA64PFR0_EL1: (0xF << 16) | (0xF << 20)})
    assert hwcaps(none) == (0, 0)
    lse = FakeCpu({H.ID_AA64PFR0_EL1: (0xF << 16) | (0xF << 20),
                   H.ID_AA64ISAR0_EL1: 2 << 20})
    assert hwcaps(lse) == (1 << 8, 0)
    fp_only = FakeCpu({H.ID_AA64PFR0_EL1: 0xF << 20})
    assert hwcaps(fp_only)[0] == 1 << 0
    # AES=1 gives AES only; AES=2 gives AES and PMULL.
    base = (0xF << 16) | (0xF << 20)
    assert hwcaps(FakeCpu({H.ID_AA64PFR0_EL1: base, H.ID_AA64ISAR0_EL1: 1 << 4}))[0] == 1 << 3
    assert hwcaps(FakeCpu({H.ID_AA64PFR0_EL1: base, H.ID_AA64ISAR0_EL1: 2 << 4}))[0] == \
        (1 << 3) | (1 << 4)
    # RNG lives in HWCAP2 bit 16.
    assert hwcaps(FakeCpu({H.ID_AA64PFR0_EL1: base, H.ID_AA64ISAR0_EL1: 1 << 60})) == \
        (0, 1 << 16)


def test_hwcaps_atomics_consistent_with_model(cpu):
    # The MAX model implements LSE; the hwcap must say so (glibc/musl pick casa/ldadd by it).
    isar0 = cpu.sysreg(H.ID_AA64ISAR0_EL1)
    has_lse = (isar0 >> 20) & 0xF >= 2
    hwcap, _ = hwcaps(cpu)
    assert bool(hwcap & (1 << 8)) == has_lse
