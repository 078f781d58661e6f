"""N_TTY, the line discipline: input processing (ICRNL and friends, ISIG,
IXON, canonical editing with ERASE/KILL/WERASE/REPRINT/LNEXT/EOF/EOL),
echo (ECHO, ECHOE, ECHOK, ECHOKE, ECHOCTL, ECHONL), output processing
(OPOST, ONLCR, OCRNL, ONOCR, ONLRET, XTABS, OLCUC) and what a reader may
take, following drivers/tty/n_tty.c.  Pure logic: the terminal around it
moves the bytes and sends the signals."""
from collections import deque

from akuma.abi import signals as S
from akuma.kernel.tty import termios as T

N_TTY_BUF_SIZE = 4096


def _iscntrl(c):
    return c < 32 or c == 127


def _isalnum(c):
    return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122


class LineDiscipline:
    """``output(bytes)`` receives what goes to the device (echoes and
    processed writes); ``signal(sig)`` is called for ISIG characters;
    ``flow(stopped)`` when IXON stops or restarts output."""

    def __init__(self, termios, output, signal, flow=None):
        self.termios = termios
        self.output = output
        self.signal = signal
        self.flow = flow or (lambda stopped: None)
        self.lines = deque()        # canonical: complete lines (b"" is an EOF mark)
        self.line = bytearray()     # canonical: the line being edited
        self.raw = bytearray()      # non-canonical: bytes a reader may take
        self.lnext = False
        self.column = 0             # output column, for tab erasure
        self.canon_column = 0       # the column the edited line started at
        self.stopped = False        # output stopped by ^S (IXON) or TCOOFF

    # -- what readers see ---------------------------------------------------------------
    @property
    def canonical(self):
        return self.termios.l(T.ICANON)

    def buffered(self):
        return sum(len(x) for x in self.lines) + len(self.line) + len(self.raw)

    def inq(self):
        """FIONREAD: readable bytes (complete lines in canonical mode)."""
        if self.canonical:
            return sum(len(x) for x in self.lines)
        return len(self.raw)

    def available(self, amount=1):
        """Can a reader take something now (``amount`` bytes in raw mode)?"""
        if self.canonical:
            return bool(self.lines)
        return len(self.raw) >= amount

    def poll_amount(self):
        """poll() wants VMIN bytes when VTIME is 0 (n_tty's input_available_p)."""
        cc = self.termios.cc
        return cc[T.VMIN] if not self.canonical and not cc[T.VTIME] and cc[T.VMIN] else 1

    def take(self, n):
        """Up to ``n`` readable bytes; b"" at an EOF mark (consumed)."""
        if self.canonical:
            if not self.lines:
                return b""
            first = self.lines[0]
            if len(first) <= n:
                self.lines.popleft()
                return bytes(first)
            self.lines[0] = first[n:]
            return bytes(first[:n])
        data = bytes(self.raw[:n])
        del self.raw[:n]
        return data

    def flush_input(self):
        self.lines.clear()
        self.line.clear()
        self.raw.clear()
        self.lnext = False

    def set_termios(self, new):
        """Switching canonical mode moves what was typed across (n_tty_set_termios)."""
        was = self.canonical
        self.termios = new
        now = self.canonical
        if was and not now:
            for x in self.lines:
                self.raw += x
            self.raw += self.line
            self.lines.clear()
            self.line.clear()
        elif now and not was and self.raw:
            self.lines.append(bytes(self.raw))
            self.raw.clear()
        if self.stopped and not new.i(T.IXON):
            self._restart()

    # -- output -------------------------------------------------------------------------
    def process_output(self, data):
        """A write's bytes after OPOST (do_output_char)."""
        tm = self.termios
        if not tm.o(T.OPOST):
            for c in data:
                self._track(c)
            return bytes(data)
        out = bytearray()
        onlcr, ocrnl, onocr, onlret = tm.o(T.ONLCR), tm.o(T.OCRNL), tm.o(T.ONOCR), tm.o(T.ONLRET)
        xtabs, olcuc = tm.oflag & T.TABDLY == T.XTABS, tm.o(T.OLCUC)
        for c in data:
            if c == 10:
                if onlret:
                    self.column = 0
                if onlcr:
                    out += b"\r\n"
                    self.column = 0
                    continue
                self.canon_column = self.column
                out.append(c)
            elif c == 13:
                if onocr and self.column == 0:
                    continue
                if ocrnl:
                    if onlret:
                        self.column = self.canon_column = 0
                    out.append(10)
                    continue
                self.column = self.canon_column = 0
                out.append(c)
            elif c == 9:
                spaces = 8 - (self.column & 7)
                self.column += spaces
                out += b" " * spaces if xtabs else b"\t"
            else:
                if olcuc and 97 <= c <= 122:
                    c -= 32
                self._track(c)
                out.append(c)
        return bytes(out)

    def _track(self, c):
        if c == 8:
            if self.column > 0:
                self.column -= 1
        elif c in (10, 13):
            self.column = 0
        elif c == 9:
            self.column = (self.column | 7) + 1
        elif not _iscntrl(c) and (c & 0xC0) != 0x80:
            self.column += 1

    def _out(self, data):
        if data:
            self.output(self.process_output(data))

    def _echo_char(self, c):
        """echo_char: control characters as ^X under ECHOCTL (not tab)."""
        if self.termios.l(T.ECHOCTL) and _iscntrl(c) and c != 9:
            self._out(bytes([ord("^"), c ^ 0x40]))
        else:
            self._out(bytes([c]))

    # -- input --------------------------------------------------------------------------
    def room(self):
        return N_TTY_BUF_SIZE - 1 - self.buffered()

    def receive(self, data):
        """Process input from the device; returns how many bytes were taken
        (the rest waits: the reader must make room first)."""
        tm = self.termios
        taken = 0
        for c in data:
            if self.room() <= 0:
                # A canonical line that fills the buffer keeps taking
                # characters (so a newline can end it); else throttle.
                if not (self.canonical and not self.lines):
                    break
            self._receive_char(c, tm)
            taken += 1
            tm = self.termios
        return taken

    def _receive_char(self, c, tm):
        if tm.i(T.ISTRIP):
            c &= 0x7F
        if tm.i(T.IUCLC) and tm.l(T.IEXTEN) and 65 <= c <= 90:
            c += 32
        if self.lnext:
            self.lnext = False
            self._store(c, literal=True)
            return
        if tm.i(T.IXON):
            if c == tm.cc[T.VSTOP] and c:
                if not self.stopped:
                    self.stopped = True
                    self.flow(True)
                return
            if c == tm.cc[T.VSTART] and c:
                self._restart()
                return
            if self.stopped and tm.i(T.IXANY):
                self._restart()
        if c == 13:
            if tm.i(T.IGNCR):
                return
            if tm.i(T.ICRNL):
                c = 10
        elif c == 10 and tm.i(T.INLCR):
            c = 13
        cc = tm.cc
        if tm.l(T.ISIG) and c:
            sig = {cc[T.VINTR]: S.SIGINT, cc[T.VQUIT]: S.SIGQUIT, cc[T.VSUSP]: S.SIGTSTP}.get(c)
            if sig is not None:
                if not tm.l(T.NOFLSH):
                    self.flush_input()
                if self.stopped:
                    self._restart()
                if tm.l(T.ECHO):
                    self._echo_char(c)
                self.signal(sig)
                return
        if tm.l(T.ICANON) and c:
            iext = tm.l(T.IEXTEN)
            if c == cc[T.VERASE] or c == cc[T.VKILL] or (iext and c == cc[T.VWERASE]):
                self._erase(c)
                return
            if iext and c == cc[T.VLNEXT]:
                self.lnext = True
                if tm.l(T.ECHO):
                    if tm.l(T.ECHOCTL):
                        self.output(b"^\b")
                return
            if iext and c == cc[T.VREPRINT] and tm.l(T.ECHO):
                self._echo_char(c)
                self._out(b"\n")
                self.canon_column = self.column
                for x in bytes(self.line):
                    self._echo_char(x)
                return
            if c == cc[T.VEOF]:
                self.lines.append(bytes(self.line))
                self.line.clear()
                return
            if c == 10 or c == cc[T.VEOL] or (iext and c == cc[T.VEOL2]):
                if c == 10:
                    if tm.l(T.ECHO) or tm.l(T.ECHONL):
                        self._out(b"\n")
                elif tm.l(T.ECHO):
                    self._echo_char(c)
                self.line.append(c)
                self.lines.append(bytes(self.line))
                self.line.clear()
                self.canon_column = self.column
                return
        self._store(c)

    def _store(self, c, literal=False):
        tm = self.termios
        if tm.l(T.ECHO):
            if not self.line:
                self.canon_column = self.column
            if c == 10 and not literal:
                self._out(b"\n")
            else:
                self._echo_char(c)
        elif c == 10 and tm.l(T.ECHONL) and tm.l(T.ICANON):
            self._out(b"\n")
        if self.canonical:
            if self.room() <= 0:
                return                      # the line is full: dropped
            self.line.append(c)
        else:
            self.raw.append(c)

    def _restart(self):
        if self.stopped:
            self.stopped = False
            self.flow(False)

    def _erase(self, c):
        """eraser(): ERASE one character, WERASE a word, KILL the line."""
        tm = self.termios
        cc = tm.cc
        if not self.line:
            return
        if c == cc[T.VERASE]:
            kind = "erase"
        elif c == cc[T.VWERASE] and tm.l(T.IEXTEN):
            kind = "werase"
        else:
            if not tm.l(T.ECHO):
                self.line.clear()
                return
            if not (tm.l(T.ECHOK) and tm.l(T.ECHOKE) and tm.l(T.ECHOE)):
                self.line.clear()
                self._echo_char(c)
                if tm.l(T.ECHOK):
                    self._out(b"\n")
                return
            kind = "kill"
        seen_alnums = 0
        while self.line:
            # One character, with its UTF-8 continuation bytes under IUTF8.
            end = len(self.line)
            start = end - 1
            if tm.i(T.IUTF8):
                while start > 0 and self.line[start] & 0xC0 == 0x80:
                    start -= 1
            ch = self.line[start]
            if kind == "werase":
                if _isalnum(ch) or ch == ord("_"):
                    seen_alnums += 1
                elif seen_alnums:
                    break
            del self.line[start:]
            if tm.l(T.ECHO):
                if kind == "erase" and not tm.l(T.ECHOE):
                    self._echo_char(cc[T.VERASE])
                elif ch == 9:
                    self._erase_tab()
                else:
                    if _iscntrl(ch) and tm.l(T.ECHOCTL):
                        self._out(b"\b \b")
                    if not _iscntrl(ch) or tm.l(T.ECHOCTL):
                        self._out(b"\b \b")
            if kind == "erase":
                break

    def _erase_tab(self):
        """Back up over a tab: the columns it took after the rest of the line."""
        col = self.canon_column
        ctl = self.termios.l(T.ECHOCTL)
        for x in bytes(self.line):
            if x == 9:
                col = (col | 7) + 1
            elif _iscntrl(x):
                col += 2 if ctl else 0
            elif x & 0xC0 != 0x80:
                col += 1
        n = self.column - col
        if n > 0:
            self.output(b"\b" * n)
            self.column -= n
