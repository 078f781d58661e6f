"""Reading command lines from the shell's stdin without blocking the kernel
loop.  A pipe, a file or a terminal with its own line discipline gives
whole lines; a host terminal in raw mode (nobody else edits the line) gets
simple editing here: echo, backspace, ^U, ^W, ^C, ^D."""
from akuma.abi import KernelError

from akuma.kernel.kshell.kthread import read_some, write_all

_ERASE = (0x7F, 0x08)
_CTRL_C, _CTRL_D, _CTRL_U, _CTRL_W = 0x03, 0x04, 0x15, 0x17


def _raw_terminal(f):
    """A host terminal with ICANON off: we edit the line ourselves."""
    fd = getattr(f, "host_fd", None)
    if fd is None or not getattr(f, "isatty", False):
        return False
    import termios
    try:
        return not termios.tcgetattr(fd)[3] & termios.ICANON
    except (OSError, termios.error):
        return False


class LineReader:
    def __init__(self, task, infile, echo_file):
        self.task = task
        self.infile = infile
        self.echo_file = echo_file
        self.buf = bytearray()
        self.eof = False
        self.raw = _raw_terminal(infile)
        self.cancelled = False       # ^C arrived: drop the partial line
        self.typed_ahead = b""       # raw mode: bytes after an Enter, not yet edited

    def read_line(self):
        """Generator: the next line (str, with its newline unless input
        ended without one), or None at end of input."""
        while True:
            if self.cancelled:
                # ^C at the prompt drops the partial line; whole lines typed
                # after it (already read) stay.
                self.cancelled = False
                if self.raw:
                    self.buf.clear()
                else:
                    del self.buf[self.buf.rfind(b"\n") + 1:]
                return ""
            i = self.buf.find(b"\n")
            if i >= 0 and not self.raw:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line.decode("utf-8", "surrogateescape")
            if self.eof:
                if self.buf:
                    line = bytes(self.buf)
                    self.buf.clear()
                    return line.decode("utf-8", "surrogateescape")
                return None
            if self.typed_ahead:
                data, self.typed_ahead = self.typed_ahead, b""
            else:
                data = yield from read_some(self.task, self.infile, 4096,
                                            interrupted=lambda: self.cancelled)
                if data is None:
                    continue
            if not data:
                self.eof = True
            elif self.raw:
                line = yield from self._edit(data)
                if line is not None:
                    return line
            else:
                self.buf += data

    def _edit(self, data):
        """Apply typed bytes to the line being edited; the line once Enter
        is pressed, else None."""
        echo = bytearray()
        done = None
        for k, b in enumerate(data):
            if b in (0x0D, 0x0A):
                echo += b"\r\n"
                done = bytes(self.buf) + b"\n"
                self.buf.clear()
                self.typed_ahead = bytes(data[k + 1:])
                break
            if b in _ERASE:
                if self.buf:
                    self.buf.pop()
                    echo += b"\b \b"
            elif b == _CTRL_U:
                echo += b"\b \b" * len(self.buf)
                self.buf.clear()
            elif b == _CTRL_W:
                n = len(self.buf)
                while n and self.buf[n - 1] == 0x20:
                    n -= 1
                while n and self.buf[n - 1] != 0x20:
                    n -= 1
                echo += b"\b \b" * (len(self.buf) - n)
                del self.buf[n:]
            elif b == _CTRL_C:
                echo += b"^C\r\n"
                self.buf.clear()
                done = b""
                break
            elif b == _CTRL_D:
                if not self.buf:
                    self.eof = True
                    done = None
                    break
            elif b >= 0x20 or b == 0x09:
                self.buf.append(b)
                echo.append(b)
        if echo and self.echo_file is not None:
            try:
                yield from write_all(self.task, self.echo_file, bytes(echo))
            except (KernelError, OSError):   # a closed terminal: input still works
                pass
        return None if done is None else done.decode("utf-8", "surrogateescape")


__all__ = ["LineReader"]
