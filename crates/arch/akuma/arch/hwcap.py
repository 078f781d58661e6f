"""AT_HWCAP / AT_HWCAP2 derived from the CPU model's ID registers, the way
Linux's arch/arm64/kernel/cpufeature.c derives them, so that libc never
picks an instruction the emulated core lacks.

Deliberately not advertised (each would need kernel support we do not give):
CPUID (EL0 reads of ID registers are not emulated), SVE/SVE2/SME (no SVE
signal-frame state), PACA/PACG (no pointer-auth keys), BTI (no guarded
pages), MTE."""

ID_AA64PFR0_EL1 = (3, 0, 0, 4, 0)
ID_AA64PFR1_EL1 = (3, 0, 0, 4, 1)
ID_AA64ISAR0_EL1 = (3, 0, 0, 6, 0)
ID_AA64ISAR1_EL1 = (3, 0, 0, 6, 1)
ID_AA64MMFR2_EL1 = (3, 0, 0, 7, 2)


def _field(value, shift):
    return (value >> shift) & 0xF


# (hwcap word, bit, register, field shift, predicate on the field value)
_RULES = [
    (1, 0, ID_AA64PFR0_EL1, 16, lambda v: v != 0xF),    # FP
    (1, 1, ID_AA64PFR0_EL1, 20, lambda v: v != 0xF),    # ASIMD
    (1, 3, ID_AA64ISAR0_EL1, 4, lambda v: v >= 1),      # AES
    (1, 4, ID_AA64ISAR0_EL1, 4, lambda v: v >= 2),      # PMULL
    (1, 5, ID_AA64ISAR0_EL1, 8, lambda v: v >= 1),      # SHA1
    (1, 6, ID_AA64ISAR0_EL1, 12, lambda v: v >= 1),     # SHA2
    (1, 7, ID_AA64ISAR0_EL1, 16, lambda v: v >= 1),     # CRC32
    (1, 8, ID_AA64ISAR0_EL1, 20, lambda v: v >= 2),     # ATOMICS (LSE)
    (1, 9, ID_AA64PFR0_EL1, 16, lambda v: v == 1),      # FPHP
    (1, 10, ID_AA64PFR0_EL1, 20, lambda v: v == 1),     # ASIMDHP
    (1, 12, ID_AA64ISAR0_EL1, 28, lambda v: v >= 1),    # ASIMDRDM
    (1, 13, ID_AA64ISAR1_EL1, 12, lambda v: v >= 1),    # JSCVT
    (1, 14, ID_AA64ISAR1_EL1, 16, lambda v: v >= 1),    # FCMA
    (1, 15, ID_AA64ISAR1_EL1, 20, lambda v: v >= 1),    # LRCPC
    (1, 16, ID_AA64ISAR1_EL1, 0, lambda v: v >= 1),     # DCPOP
    (1, 17, ID_AA64ISAR0_EL1, 32, lambda v: v >= 1),    # SHA3
    (1, 18, ID_AA64ISAR0_EL1, 36, lambda v: v >= 1),    # SM3
    (1, 19, ID_AA64ISAR0_EL1, 40, lambda v: v >= 1),    # SM4
    (1, 20, ID_AA64ISAR0_EL1, 44, lambda v: v >= 1),    # ASIMDDP
    (1, 21, ID_AA64ISAR0_EL1, 12, lambda v: v >= 2),    # SHA512
    (1, 23, ID_AA64ISAR0_EL1, 48, lambda v: v >= 1),    # ASIMDFHM
    (1, 24, ID_AA64PFR0_EL1, 48, lambda v: v >= 1),     # DIT
    (1, 25, ID_AA64MMFR2_EL1, 32, lambda v: v >= 1),    # USCAT
    (1, 26, ID_AA64ISAR1_EL1, 20, lambda v: v >= 2),    # ILRCPC
    (1, 27, ID_AA64ISAR0_EL1, 52, lambda v: v >= 1),    # FLAGM
    (1, 28, ID_AA64PFR1_EL1, 4, lambda v: v >= 2),      # SSBS
    (1, 29, ID_AA64ISAR1_EL1, 36, lambda v: v >= 1),    # SB
    (2, 0, ID_AA64ISAR1_EL1, 0, lambda v: v >= 2),      # DCPODP
    (2, 7, ID_AA64ISAR0_EL1, 52, lambda v: v >= 2),     # FLAGM2
    (2, 8, ID_AA64ISAR1_EL1, 32, lambda v: v >= 1),     # FRINT
    (2, 13, ID_AA64ISAR1_EL1, 52, lambda v: v >= 1),    # I8MM
    (2, 14, ID_AA64ISAR1_EL1, 44, lambda v: v >= 1),    # BF16
    (2, 15, ID_AA64ISAR1_EL1, 48, lambda v: v >= 1),    # DGH
    (2, 16, ID_AA64ISAR0_EL1, 60, lambda v: v >= 1),    # RNG
]


def hwcaps(cpu):
    """(AT_HWCAP, AT_HWCAP2) for the core ``cpu`` runs."""
    regs = {}
    words = {1: 0, 2: 0}
    for word, bit, reg, shift, pred in _RULES:
        if reg not in regs:
            regs[reg] = cpu.sysreg(reg)
        if pred(_field(regs[reg], shift)):
            words[word] |= 1 << bit
    return words[1], words[2]
