"""Redirections: a command's fd -> open file map, built from the shell's
(or the pipe's) files and the command's `<`, `>`, `>>`, `N>&M`, `&>`,
applied left to right as POSIX says (`>f 2>&1` differs from `2>&1 >f`)."""
import os

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi.errors import EBADF

from akuma.kernel.kshell.expand import expand_word

_DEFAULT_FD = {"<": 0, "<&": 0, ">": 1, ">|": 1, ">>": 1, ">&": 1}
_OPEN_FLAGS = {
    "<": F.O_RDONLY,
    ">": F.O_WRONLY | F.O_CREAT | F.O_TRUNC,
    ">|": F.O_WRONLY | F.O_CREAT | F.O_TRUNC,
    ">>": F.O_WRONLY | F.O_CREAT | F.O_APPEND,
    "&>": F.O_WRONLY | F.O_CREAT | F.O_TRUNC,
}


class RedirectError(Exception):
    """A message for the user (`kshell: out: Permission denied`)."""


def apply_redirs(sh, redirs, files, opened):
    """A new fd map with ``redirs`` applied to ``files``; every file this
    opens is appended to ``opened`` (the caller closes the unused ones)."""
    files = dict(files)
    for r in redirs:
        fd = _DEFAULT_FD.get(r.op, 1) if r.fd is None else r.fd
        target = _target(sh, r.target)
        if r.op in ("<&", ">&") and (target.isdigit() or target == "-"):
            if target == "-":
                files.pop(fd, None)
            elif int(target) not in files:
                raise RedirectError(f"{target}: {os.strerror(EBADF)}")
            else:
                files[fd] = files[int(target)]
            continue
        op = "&>" if r.op == ">&" and r.fd is None else r.op
        if op == ">&":
            raise RedirectError(f"{target}: ambiguous redirect")
        f = _open(sh, target, _OPEN_FLAGS.get(op, F.O_RDONLY))
        opened.append(f)
        if op == "&>":
            files[1] = files[2] = f
        else:
            files[fd] = f
    return files


def _target(sh, word):
    fields = expand_word(word, sh.lookup, sh.glob)
    if len(fields) != 1:
        raise RedirectError(f"{word.literal()}: ambiguous redirect")
    return fields[0]


def _open(sh, name, flags):
    p = sh.proc
    try:
        return sh.kernel.vfs.open(os.fsencode(name), flags, 0o666, cwd=p.cwd, umask=p.umask,
                                  root=p.root, uid=p.creds.euid, gid=p.creds.egid)
    except KernelError as e:
        raise RedirectError(f"{name}: {os.strerror(e.errno)}") from None


def close_unused(opened):
    """Close files no fd table took (a failed start, an in-shell builtin)."""
    for f in opened:
        if getattr(f, "refs", 0) <= 0 and not getattr(f, "closed", False):
            try:
                f.close()
            except (KernelError, OSError):
                pass


__all__ = ["apply_redirs", "close_unused", "RedirectError"]
