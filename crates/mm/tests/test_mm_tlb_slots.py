"""The Mmu's two TLBs (Secure and Non-secure EL0 regimes): switching
between two address spaces keeps each one's translations (no flush, no
refill), a third one evicts the slot used less recently, and a change to
any page table still reaches a slot whose owner is not running."""
import struct

from akuma.arch import RunExit
from akuma.mm import PROT_READ, PROT_WRITE

from test_mm_cpu_run import Machine, CODE, DATA, P, SVC0, another_space, ldr, mov64, movz


def _machine():
    m = Machine(mov64(1, DATA) + [ldr(0, 1), movz(8, 93), SVC0])
    m.cpu.syscall_table[93] = m.exit_handler
    m.a.write(DATA, struct.pack("<Q", 111))
    return m


def _run(m, aspace):
    m.mmu.switch(aspace.pt)
    m.cpu.pc = CODE
    assert m.cpu.run() == RunExit.EXIT_STOP
    return m.calls.pop()[1]


def test_two_spaces_keep_their_translations():
    m = _machine()
    b = another_space(m, 222)
    assert _run(m, m.a) == 111
    assert _run(m, b) == 222
    flushes, fills, hits = m.mmu.flushes, m.mmu.fills, m.mmu.slot_hits
    for _ in range(5):
        assert _run(m, m.a) == 111
        assert _run(m, b) == 222
    assert m.mmu.flushes == flushes          # no flush on these switches
    assert m.mmu.slot_hits == hits + 10
    # Neither code nor data is refilled: only unicorn's probe of the stop
    # address (about one fill per run) remains, against three when cold.
    warm = (m.mmu.fills - fills) / 10
    m.mmu.flush()
    fills = m.mmu.fills
    assert _run(m, b) == 222
    cold = m.mmu.fills - fills
    assert cold >= 3 and warm < 1.5, (cold, warm)


def test_a_third_space_evicts_the_one_used_less_recently():
    m = _machine()
    b, c = another_space(m, 222), another_space(m, 333)
    assert _run(m, m.a) == 111
    assert _run(m, b) == 222
    flushes = m.mmu.flushes
    assert _run(m, c) == 333                 # takes a's slot (b ran last)
    assert m.mmu.flushes == flushes + 1
    assert _run(m, b) == 222                 # b kept its slot
    assert m.mmu.flushes == flushes + 1
    assert _run(m, m.a) == 111               # a was evicted: flush again
    assert m.mmu.flushes == flushes + 2
    assert [_run(m, x) for x in (m.a, b, c, m.a)] == [111, 222, 333, 111]


def test_a_change_to_the_space_not_running_reaches_its_slot():
    """b's translation of DATA is cached in its slot; a's turn then remaps
    b's page: b must see the new page, never its old frame."""
    m = _machine()
    b = another_space(m, 222)
    assert _run(m, m.a) == 111
    assert _run(m, b) == 222
    assert _run(m, m.a) == 111
    b.unmap(DATA, P)                         # while a is the current space
    b.map(DATA, P, PROT_READ | PROT_WRITE)
    b.write(DATA, struct.pack("<Q", 444))
    assert _run(m, b) == 444
    assert _run(m, m.a) == 111


def test_forget_frees_the_slot():
    m = _machine()
    b, c = another_space(m, 222), another_space(m, 333)
    assert _run(m, m.a) == 111
    assert _run(m, b) == 222
    m.mmu.forget(m.a.pt)                     # a's process is gone
    assert _run(m, c) == 333                 # takes a's free slot, not b's
    flushes = m.mmu.flushes
    assert _run(m, b) == 222
    assert m.mmu.flushes == flushes
