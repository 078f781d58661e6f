"""Handlers register here by Linux name; the table (table.py) turns names
into the array indexed by number that the CPU's SVC hook dispatches on.

A handler is ``handler(task, a0, a1, a2, a3, a4, a5) -> int | None``: the
result or -errno, or None to block (the SVC is re-executed when the task
runs again).  ``args`` describes the arguments for --strace."""

HANDLERS = {}   # name -> handler
ARGSPEC = {}    # name -> list of argument kinds (see strace.py)
NOTES = {}      # name -> support note ("partial: ..."), shown by `akuma syscalls`


def syscall(name, args="", note=""):
    def register(fn):
        HANDLERS[name] = fn
        ARGSPEC[name] = args.split()
        if note:
            NOTES[name] = note
        return fn
    return register


def ignored(name, result=0, args="", note="accepted and ignored"):
    """A call whose effect does not exist here (returns ``result``)."""
    def handler(t, *_):
        return result
    handler.__name__ = f"sys_{name}"
    syscall(name, args, note)(handler)
