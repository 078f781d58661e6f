"""The syscall table: number -> handler, one entry per Linux AArch64 number.
Numbers with no handler return ENOSYS, logged once per name."""
from akuma.abi.errors import ENOSYS
from akuma.kernel.syscalls.numbers import NAMES
from akuma.kernel.syscalls.registry import HANDLERS, ARGSPEC, NOTES
# Importing the families registers their handlers.
from akuma.kernel.syscalls import net  # noqa: F401  (sockets)
from akuma.kernel.syscalls import fs, mm, process, signal, time, misc, tty, creds, timers, fsmeta, events, power, select  # noqa: F401
from akuma.kernel.syscalls import xattr  # noqa: F401  (extended attributes)
from akuma.kernel.syscalls import sched_misc  # noqa: F401  (sched_*, caps, mlock, mincore, membarrier, ioprio)

TABLE_SIZE = max(NAMES) + 1


def _enosys(nr, name):
    def handler(t, *_):
        t.kernel.log_unsupported(t, nr, name)
        return -ENOSYS
    handler.__name__ = f"enosys_{name}"
    return handler


def build(wrap=None):
    """The dispatch list; ``wrap(nr, name, handler)`` may decorate each entry
    (strace)."""
    table = []
    for nr in range(TABLE_SIZE):
        name = NAMES.get(nr, f"syscall_{nr}")
        h = HANDLERS.get(name) or _enosys(nr, name)
        table.append(wrap(nr, name, h) if wrap else h)
    return table


def fallback(t, nr, *_):
    """Numbers past the table."""
    t.kernel.log_unsupported(t, nr, f"syscall_{nr}")
    return -ENOSYS


def support():
    """(nr, name, level) for every number: 'yes', 'partial: …' or 'ENOSYS'."""
    rows = []
    for nr in range(TABLE_SIZE):
        name = NAMES.get(nr)
        if name is None:
            continue
        if name in HANDLERS:
            rows.append((nr, name, NOTES.get(name, "yes")))
        else:
            rows.append((nr, name, "ENOSYS"))
    return rows


__all__ = ["build", "fallback", "support", "ARGSPEC", "TABLE_SIZE"]
