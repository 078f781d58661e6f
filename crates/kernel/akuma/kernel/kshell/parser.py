"""The kernel shell's grammar (a small POSIX subset):

    list     := and_or ((';' | '&' | newline) and_or)* [';' | '&']
    and_or   := pipeline (('&&' | '||') newline* pipeline)*
    pipeline := ['!'] command ('|' newline* command)*
    command  := (assignment | word | redirection)+

Each node keeps its source span, so jobs can be shown as typed."""
import re
from dataclasses import dataclass, field

from akuma.kernel.kshell.lexer import tokenize, Word, Op, Redir, ShellSyntaxError, LIT

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Command:
    assigns: list = field(default_factory=list)    # [(name, Word)]
    words: list = field(default_factory=list)      # [Word]
    redirs: list = field(default_factory=list)     # [Redir]


@dataclass
class Pipeline:
    commands: list
    negate: bool = False
    text: str = ""
    start: int = 0
    end: int = 0


@dataclass
class AndOr:
    first: Pipeline
    rest: list = field(default_factory=list)       # [(op, Pipeline)]
    background: bool = False
    text: str = ""


def parse(text):
    """A list of AndOr.  Raises Incomplete (more lines needed) or
    ShellSyntaxError."""
    return _Parser(text, tokenize(text)).parse_list()


class _Parser:
    def __init__(self, text, toks):
        self.text = text
        self.toks = toks
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def peek_op(self):
        t = self.peek()
        return t.op if isinstance(t, Op) else None

    def skip_newlines(self):
        while self.peek_op() == "\n":
            self.i += 1

    def parse_list(self):
        items = []
        self.skip_newlines()
        while self.peek() is not None:
            item = self.parse_and_or()
            op = self.peek_op()
            if op == "&":
                item.background = True
                self.i += 1
            elif op == ";":
                self.i += 1
            elif op not in ("\n", None):
                raise ShellSyntaxError(f"syntax error near unexpected token `{op}'")
            items.append(item)
            self.skip_newlines()
        return items

    def parse_and_or(self):
        first = self.parse_pipeline()
        node = AndOr(first)
        end = first
        while self.peek_op() in ("&&", "||"):
            op = self.peek_op()
            self.i += 1
            self.skip_newlines()
            end = self.parse_pipeline()
            node.rest.append((op, end))
        node.text = self.text[first.start:end.end].strip()
        return node

    def parse_pipeline(self):
        negate = False
        t = self.peek()
        if isinstance(t, Word) and t.segments == [(LIT, "!")]:
            negate = True
            self.i += 1
        start_tok = self.i
        cmds = [self.parse_command()]
        while self.peek_op() == "|":
            self.i += 1
            self.skip_newlines()
            cmds.append(self.parse_command())
        first, last = self.toks[start_tok], self.toks[self.i - 1]
        return Pipeline(cmds, negate, self.text[first.start:last.end].strip(), first.start,
                        last.end)

    def parse_command(self):
        cmd = Command()
        while True:
            t = self.peek()
            if isinstance(t, Redir):
                cmd.redirs.append(t)
            elif isinstance(t, Word):
                name = _assignment_name(t)
                if name is not None and not cmd.words:
                    cmd.assigns.append((name, _assignment_value(t)))
                else:
                    cmd.words.append(t)
            else:
                break
            self.i += 1
        if not (cmd.words or cmd.assigns or cmd.redirs):
            t = self.peek()
            what = "newline" if t is None or t.op == "\n" else t.op
            raise ShellSyntaxError(f"syntax error near unexpected token `{what}'")
        return cmd


def _assignment_name(w):
    """NAME of a `NAME=value` word (the `NAME=` part unquoted), else None."""
    if not w.segments or w.segments[0][0] != LIT:
        return None
    head, eq, _ = w.segments[0][1].partition("=")
    return head if eq and _NAME.match(head) else None


def _assignment_value(w):
    kind, text = w.segments[0]
    rest = text.split("=", 1)[1]
    segs = ([(kind, rest)] if rest else []) + list(w.segments[1:])
    return Word(segs or [("sq", "")], w.start, w.end)


__all__ = ["parse", "Command", "Pipeline", "AndOr", "ShellSyntaxError"]
