"""Word expansion, in POSIX order: tilde, parameters ($VAR, ${VAR},
${VAR:-default}, $?, $$, $!, $0, $#), field splitting of unquoted results,
pathname expansion (globbing), quote removal.

A field is built as characters paired with a flag saying whether the
character came from unquoted text: only those may act as glob
metacharacters."""
import re

from akuma.kernel.kshell.lexer import LIT, DQ, SQ, ShellSyntaxError

IFS = " \t\n"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL = "?$!#0"


class ExpansionError(ShellSyntaxError):
    pass


class _Fields:
    """Fields under construction: [(text chars, active flags)]."""

    def __init__(self):
        self.fields = []
        self.cur = None            # None: no field started (an empty unquoted $X vanishes)

    def start(self):
        if self.cur is None:
            self.cur = ([], [])
            self.fields.append(self.cur)

    def add(self, text, active):
        self.start()
        self.cur[0].extend(text)
        self.cur[1].extend([active] * len(text))

    def split_add(self, text):
        """Unquoted expansion result: IFS whitespace separates fields."""
        parts = re.split(f"[{re.escape(IFS)}]+", text)
        for k, part in enumerate(parts):
            if k > 0:
                self.cur = None
            if part:
                self.add(part, True)
        if text and text[-1] in IFS:
            self.cur = None


def expand_word(word, lookup, glob=None):
    """The fields ``word`` expands to.  ``lookup(name)`` gives a variable or
    special parameter (None if unset); ``glob(chars, active)`` returns the
    sorted matches of a pattern (empty: leave it as is)."""
    out = _Fields()
    if word.quoted:
        out.start()                 # "" and '' are one empty field
    for idx, (kind, text) in enumerate(word.segments):
        if kind == SQ:
            out.add(text, False)
        elif kind == DQ:
            out.start()
            out.add(_expand_params(text, lookup, quoted=True, fields=None), False)
        else:
            if idx == 0:
                text = _tilde(text, lookup)
            _expand_params(text, lookup, quoted=False, fields=out)
    result = []
    for chars, active in out.fields:
        if glob is not None and any(a and c in "*?[" for c, a in zip(chars, active)):
            matches = glob(chars, active)
            if matches:
                result.extend(matches)
                continue
        result.append("".join(chars))
    return result


def expand_single(word, lookup):
    """An expansion that must stay one string: assignments, here without
    splitting or globbing (as POSIX says for `NAME=value`)."""
    out = []
    for idx, (kind, text) in enumerate(word.segments):
        if kind == SQ:
            out.append(text)
        else:
            if kind == LIT and idx == 0:
                text = _tilde(text, lookup)
            out.append(_expand_params(text, lookup, quoted=True, fields=None))
    return "".join(out)


def _tilde(text, lookup):
    if text == "~" or text.startswith("~/"):
        return (lookup("HOME") or "/") + text[1:]
    return text


def _expand_params(text, lookup, quoted, fields):
    """Expand $... in ``text``.  Quoted: returns the string.  Unquoted:
    literal parts go to ``fields`` as glob-active text and expansion
    results are split."""
    pieces = []
    i, n = 0, len(text)
    lit_start = 0

    def flush_literal(end):
        if end > lit_start:
            chunk = text[lit_start:end]
            if quoted:
                pieces.append(chunk)
            else:
                fields.add(chunk, True)

    while i < n:
        if text[i] != "$" or i + 1 >= n:
            i += 1
            continue
        value, j = _parameter(text, i, lookup)
        if value is None and j == i:            # a lone `$`: literal
            i += 1
            continue
        flush_literal(i)
        if quoted:
            pieces.append(value or "")
        else:
            fields.split_add(value or "")
        i = lit_start = j
    flush_literal(n)
    return "".join(pieces) if quoted else None


def _parameter(text, i, lookup):
    """(value, end) of the parameter at text[i] == '$'; (None, i) when
    nothing there is a parameter."""
    c = text[i + 1]
    if c == "{":
        j = text.find("}", i)
        if j < 0:
            raise ExpansionError("bad substitution")
        inner = text[i + 2:j]
        name, op, default = inner, "", ""
        m = _NAME.match(inner)
        if m and m.end() < len(inner):
            name, rest = inner[:m.end()], inner[m.end():]
            for o in (":-", "-"):
                if rest.startswith(o):
                    op, default = o, rest[len(o):]
                    break
            else:
                raise ExpansionError(f"${{{inner}}}: bad substitution")
        elif not (m or (len(inner) == 1 and inner in _SPECIAL)):
            raise ExpansionError(f"${{{inner}}}: bad substitution")
        value = lookup(name)
        if op == ":-" and not value or op == "-" and value is None:
            value = default
        return value, j + 1
    if c in _SPECIAL:
        return lookup(c), i + 2
    m = _NAME.match(text, i + 1)
    if m:
        return lookup(m.group()), m.end()
    return None, i


__all__ = ["expand_word", "expand_single", "ExpansionError"]
