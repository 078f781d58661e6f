"""--strace: every syscall printed like strace(1), arguments decoded by the
kinds each handler declares."""
import sys

from akuma.abi.errors import errno_name
from akuma.abi import fcntl as F
from akuma.mm import EFault
from akuma.kernel.syscalls.args import s32

_ERRSTR = {}


def _errstr(e):
    if e not in _ERRSTR:
        import os
        _ERRSTR[e] = os.strerror(e)
    return _ERRSTR[e]


_OFLAGS = [(F.O_CREAT, "O_CREAT"), (F.O_EXCL, "O_EXCL"), (F.O_NOCTTY, "O_NOCTTY"),
           (F.O_TRUNC, "O_TRUNC"), (F.O_APPEND, "O_APPEND"), (F.O_NONBLOCK, "O_NONBLOCK"),
           (F.O_DIRECTORY, "O_DIRECTORY"), (F.O_NOFOLLOW, "O_NOFOLLOW"),
           (F.O_CLOEXEC, "O_CLOEXEC"), (F.O_PATH, "O_PATH"), (F.O_LARGEFILE, "O_LARGEFILE")]


def _oflags(v):
    v = s32(v)
    acc = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"][v & 3]
    return "|".join([acc] + [n for bit, n in _OFLAGS if v & bit])


def _string(t, addr, limit=32):
    if addr == 0:
        return "NULL"
    try:
        s = t.process.aspace.read_cstr(addr, 4096)
    except EFault:
        return f"{addr:#x}"
    if s is None:
        return f"{addr:#x}"
    text = repr(s[:limit])[2:-1].replace('"', '\\"')
    return f'"{text}"' + ("..." if len(s) > limit else "")


def _buf(t, addr, n, limit=32):
    try:
        data = t.process.aspace.read(addr, min(n, limit))
    except EFault:
        return f"{addr:#x}"
    text = repr(data)[2:-1].replace('"', '\\"')
    return f'"{text}"' + ("..." if n > limit else "")


def format_arg(t, kind, v, args):
    if kind == "fd":
        v = s32(v)
        return "AT_FDCWD" if v == F.AT_FDCWD else str(v)
    if kind in ("int", "sig"):
        return str(s32(v))
    if kind == "path":
        return _string(t, v)
    if kind == "oflags":
        return _oflags(v)
    if kind == "oct":
        return f"{v & 0xFFFFFFFF:#o}"
    if kind in ("size", "u"):
        return str(v)
    return f"{v:#x}"


class Tracer:
    """Wraps table entries; ``names`` limits tracing to some calls
    (--strace=read,write)."""

    def __init__(self, out=None, names=None):
        self.out = out or sys.stderr
        self.names = set(names) if names else None

    def wrap(self, nr, name, handler):
        from akuma.kernel.syscalls.registry import ARGSPEC
        if self.names is not None and name not in self.names:
            return handler
        spec = ARGSPEC.get(name)
        if spec is None:
            spec = ["hex"] * 3      # no handler: show the first registers

        def traced(t, *args):
            pre = self._format_args(t, name, spec, args)
            try:
                result = handler(t, *args)
            except BaseException as exc:      # the errno path, traced like the rest
                result = t.kernel.syscall_error(t, nr, exc)
            if result is None:
                return None      # blocked; printed when it completes
            self._print(t, name, pre, spec, args, result)
            return result
        traced.__name__ = handler.__name__
        return traced

    def _format_args(self, t, name, spec, args):
        parts = []
        for i, kind in enumerate(spec):
            if kind == "wbuf":
                parts.append(_buf(t, args[i], args[i + 1]))
            elif kind == "rbuf":
                parts.append(None)   # filled after the call
            else:
                parts.append(format_arg(t, kind, args[i], args))
        return parts

    def _print(self, t, name, parts, spec, args, result):
        for i, kind in enumerate(spec):
            if kind == "rbuf":
                parts[i] = _buf(t, args[i], max(0, result)) if 0 <= result else f"{args[i]:#x}"
        res = str(result)
        if -4096 < result < 0:
            res = f"-1 {errno_name(-result)} ({_errstr(-result)})"
        elif name in ("mmap", "brk", "mremap") and result > 0:
            res = f"{result:#x}"
        try:
            self.out.write(f"[{t.tid}] {name}({', '.join(parts)}) = {res}\n")
            self.out.flush()
        except (OSError, ValueError):
            pass
