"""The kernel shell's lexer: text -> words and operators.

A word keeps its quoting as segments, because expansion depends on it:
``LIT`` (unquoted: $-expansion, field splitting, globbing), ``DQ`` (double
quoted: $-expansion only) and ``SQ`` (literal: single quotes and backslash
escapes)."""
from dataclasses import dataclass, field

LIT, DQ, SQ = "lit", "dq", "sq"
OPERATORS = ("&&", "||", ";", "&", "|", "(", ")")
_REDIR_OPS = (">>", ">&", "<&", "&>", ">|", ">", "<")
_META = set(" \t\n;&|<>()")


class ShellSyntaxError(Exception):
    pass


class Incomplete(ShellSyntaxError):
    """The text stops inside a quote, after a backslash or after an operator
    that needs more: an interactive reader asks for another line."""


@dataclass
class Word:
    segments: list = field(default_factory=list)     # [(kind, text)]
    start: int = 0
    end: int = 0

    @property
    def quoted(self):
        return any(kind != LIT for kind, _ in self.segments)

    def literal(self):
        """The word with quotes removed and nothing expanded."""
        return "".join(text for _, text in self.segments)

    def add(self, kind, text):
        if self.segments and self.segments[-1][0] == kind:
            self.segments[-1] = (kind, self.segments[-1][1] + text)
        else:
            self.segments.append((kind, text))


@dataclass
class Op:
    op: str
    start: int = 0
    end: int = 0


@dataclass
class Redir:
    fd: int            # None: the operator's default (0 for <, 1 for >)
    op: str
    target: Word = None
    start: int = 0
    end: int = 0


def tokenize(text):
    """A list of Word, Op and Redir (with its target word).  Newlines
    separate commands like `;`.  Raises Incomplete or ShellSyntaxError."""
    toks = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t":
            i += 1
        elif c == "\n":
            toks.append(Op("\n", i, i + 1))      # a separator, like `;`
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "<>" or (c == "&" and text[i:i + 2] == "&>"):
            i = _redir(text, i, None, toks)
        elif c.isdigit() and _io_number_end(text, i) is not None:
            j = _io_number_end(text, i)
            i = _redir(text, j, int(text[i:j]), toks)
        elif c in _META:
            op = text[i:i + 2] if text[i:i + 2] in OPERATORS else c
            toks.append(Op(op, i, i + len(op)))
            i += len(op)
        else:
            w, i = _word(text, i)
            toks.append(w)
    _check_complete(toks)
    return toks


def _io_number_end(text, i):
    """`2>` / `10<`: digits directly followed by a redirection operator."""
    j = i
    while j < len(text) and text[j].isdigit():
        j += 1
    return j if j < len(text) and text[j] in "<>" else None


def _redir(text, i, fd, toks):
    start = i
    op = next(o for o in _REDIR_OPS if text.startswith(o, i))
    i += len(op)
    while i < len(text) and text[i] in " \t":
        i += 1
    if i >= len(text) or text[i] in _META:
        if i >= len(text) or text[i] == "\n":
            raise ShellSyntaxError(f"syntax error: a file name is missing after `{op}'")
        raise ShellSyntaxError(f"syntax error near unexpected token `{text[i]}'")
    target, i = _word(text, i)
    toks.append(Redir(fd, op, target, start, i))
    return i


def _word(text, i):
    w = Word(start=i)
    n = len(text)
    while i < n and text[i] not in _META:
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                raise Incomplete("a line ends with a backslash")
            if text[i + 1] != "\n":          # backslash-newline joins lines
                w.add(SQ, text[i + 1])
            i += 2
        elif c == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise Incomplete("unterminated single quote")
            w.add(SQ, text[i + 1:j])
            i = j + 1
        elif c == '"':
            i = _double_quoted(text, i + 1, w)
        elif c == "$" and text[i + 1:i + 2] == "{":
            j = text.find("}", i)
            if j < 0:
                raise Incomplete("unterminated ${")
            w.add(LIT, text[i:j + 1])
            i = j + 1
        else:
            w.add(LIT, c)
            i += 1
    if not w.segments:
        w.add(SQ, "")
    w.end = i
    return w, i


def _double_quoted(text, i, w):
    """Inside "...": a backslash escapes only $ ` " \\ and newline."""
    n = len(text)
    w.add(DQ, "")
    while i < n:
        c = text[i]
        if c == '"':
            return i + 1
        if c == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
            if text[i + 1] != "\n":
                w.add(SQ, text[i + 1])
            i += 2
            continue
        w.add(DQ, c)
        i += 1
    raise Incomplete("unterminated double quote")


def _check_complete(toks):
    # Newlines after `|`, `&&` or `||` do not end the command.
    meaningful = [t for t in toks if not (isinstance(t, Op) and t.op == "\n")]
    if meaningful and isinstance(meaningful[-1], Op) and meaningful[-1].op in ("|", "&&", "||"):
        raise Incomplete(f"more input expected after `{meaningful[-1].op}'")


__all__ = ["tokenize", "Word", "Op", "Redir", "ShellSyntaxError", "Incomplete", "LIT", "DQ",
           "SQ"]
