"""Pathname expansion: `*`, `?` and `[...]` matched component by component
against a directory lister (the VFS in the shell, a dict in tests).
Characters that were quoted never act as metacharacters; names starting
with `.` match only a pattern that starts with a literal `.`."""
import re


def glob(chars, active, listdir, is_dir):
    """Sorted paths matching the pattern (``chars`` with ``active`` flags).
    ``listdir(path)`` returns the names in a directory (raising OSError-like
    exceptions or returning [] when it cannot); ``is_dir(path)`` says
    whether a path is a directory."""
    comps = _components(chars, active)
    absolute = chars[:1] == ["/"]
    paths = ["/" if absolute else ""]
    for k, (cchars, cactive) in enumerate(comps):
        last = k == len(comps) - 1
        if not cchars:
            continue
        nxt = []
        if not _has_magic(cchars, cactive):
            name = "".join(cchars)
            for p in paths:
                nxt.append(p + name if last else p + name + "/")
        else:
            rx = _regex(cchars, cactive)
            dot_ok = cchars[0] == "."
            for p in paths:
                d = p or "."
                if p and not is_dir(p.rstrip("/") or "/"):
                    continue
                for name in sorted(listdir(d)):
                    if name in (".", "..") or name.startswith(".") and not dot_ok:
                        continue
                    if rx.fullmatch(name):
                        nxt.append(p + name if last else p + name + "/")
        paths = nxt
        if not paths:
            return []
    trailing_slash = chars[-1:] == ["/"]
    out = []
    for p in paths:
        if trailing_slash:
            if is_dir(p.rstrip("/") or "/"):
                out.append(p)
        elif _exists(p, listdir, is_dir):
            out.append(p.rstrip("/") if p != "/" else p)
    return sorted(out)


def _exists(p, listdir, is_dir):
    p = p.rstrip("/") or "/"
    if p == "/":
        return True
    head, _, name = p.rpartition("/")
    try:
        return name in listdir(head or ("/" if p.startswith("/") else "."))
    except Exception:
        return False


def _components(chars, active):
    comps, cur_c, cur_a = [], [], []
    for c, a in zip(chars, active):
        if c == "/":
            comps.append((cur_c, cur_a))
            cur_c, cur_a = [], []
        else:
            cur_c.append(c)
            cur_a.append(a)
    comps.append((cur_c, cur_a))
    return comps


def _has_magic(chars, active):
    return any(a and c in "*?[" for c, a in zip(chars, active))


def _regex(chars, active):
    out = []
    i, n = 0, len(chars)
    while i < n:
        c, a = chars[i], active[i]
        if a and c == "*":
            out.append(".*")
        elif a and c == "?":
            out.append(".")
        elif a and c == "[":
            cls, j = _bracket(chars, i)
            if cls is None:
                out.append(re.escape(c))
            else:
                out.append(cls)
                i = j
                continue
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _bracket(chars, i):
    """A regex class for the bracket expression at chars[i] == '[', and the
    index after it; (None, i) if it does not close."""
    j = i + 1
    negate = j < len(chars) and chars[j] in "!^"
    if negate:
        j += 1
    body_start = j
    if j < len(chars) and chars[j] == "]":
        j += 1                                   # `[]abc]`: a leading ] is literal
    while j < len(chars) and chars[j] != "]":
        j += 1
    if j >= len(chars):
        return None, i
    body = "".join(chars[body_start:j])
    parts = []
    for k, ch in enumerate(body):
        if ch == "-" and 0 < k < len(body) - 1:
            parts.append("-")
        else:
            parts.append(re.escape(ch))
    return "[" + ("^" if negate else "") + "".join(parts) + "]", j + 1


__all__ = ["glob"]
