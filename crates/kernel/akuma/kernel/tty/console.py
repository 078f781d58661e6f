"""The console: the host terminal wired to a kernel terminal.

The host terminal is put in raw mode, so the guest's own line discipline
does echo, editing and ^C/^Z.  Keystrokes arrive through a scheduler wake
fd; output goes through a writer thread, so a host terminal that stops
reading never blocks the kernel (guest writers wait when its queue is
full).  Host SIGWINCH becomes TIOCSWINSZ on the console (and SIGWINCH for
the foreground group).

The host settings are restored on every exit path: ``stop()`` (called by
`akuma run` in a finally, after a normal exit, a guest crash or a Python
exception; host SIGTERM/SIGHUP become guest signals and end the run the
same way), an atexit hook, and, for SIGKILL of the host process, a small
watcher process: it holds the saved settings and restores them when the
pipe from its parent closes without the parent having said it is done."""
import atexit
import fcntl
import os
import signal
import subprocess
import sys
import termios
import threading

from akuma.abi import makedev
from akuma.abi import fcntl as F
from akuma.kernel.tty.escape import EscapeKeys
from akuma.kernel.tty.tty import Tty, TtyDevice, TtyFile

CONSOLE_RDEV = makedev(5, 1)
OUTPUT_QUEUE_MAX = 1 << 16      # bytes waiting for the host terminal

_WATCHER = r"""
import ast, os, signal, sys, termios
for s in ("SIGINT", "SIGQUIT", "SIGTSTP", "SIGHUP", "SIGTERM", "SIGTTOU"):
    signal.signal(getattr(signal, s), signal.SIG_IGN)
attrs = ast.literal_eval(sys.argv[1])
seen = b""
while True:
    try:
        chunk = os.read(int(sys.argv[2]), 64)
    except InterruptedError:
        continue
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
if b"done" not in seen:
    try:
        termios.tcsetattr(0, termios.TCSAFLUSH, attrs)
    except (OSError, termios.error):
        pass
"""


def raw_mode(attrs):
    """cfmakeraw of the host settings ``attrs`` (a tcgetattr list)."""
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = attrs
    iflag &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP |
               termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON)
    oflag &= ~termios.OPOST
    lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    cflag = (cflag & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
    cc = list(cc)
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    return [iflag, oflag, cflag, lflag, ispeed, ospeed, cc]


class _Writer(threading.Thread):
    """Writes queued output to the host; tells the kernel when room frees."""

    def __init__(self, fd, on_room):
        super().__init__(name="akuma-console-out", daemon=True)
        self.fd = fd
        self.on_room = on_room
        self.queue = bytearray()
        self.cond = threading.Condition()
        self.closing = False
        self.broken = False

    def run(self):
        while True:
            with self.cond:
                while not self.queue and not self.closing:
                    self.cond.wait()
                if not self.queue and self.closing:
                    return
                chunk = bytes(self.queue[:65536])
            try:
                n = os.write(self.fd, chunk)
            except InterruptedError:
                continue
            except OSError:
                self.broken = True          # the terminal is gone: drop output
                n = len(chunk)
            with self.cond:
                was_full = len(self.queue) >= OUTPUT_QUEUE_MAX // 2
                del self.queue[:n]
                self.cond.notify_all()
            if was_full:
                self.on_room()

    def push(self, data):
        with self.cond:
            if not self.broken:
                self.queue += data
            self.cond.notify_all()

    def queued(self):
        return len(self.queue)

    def drain(self, timeout):
        with self.cond:
            self.cond.wait_for(lambda: not self.queue, timeout)

    def close(self, timeout=2.0):
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        self.join(timeout)


class Console(TtyDevice):
    """The host terminal (``in_fd``/``out_fd``) as the kernel's /dev/console."""

    def __init__(self, kernel, in_fd=0, out_fd=1, machine=False):
        self.kernel = kernel
        # The console of a booted machine takes QEMU's Ctrl+A escapes and
        # stops the machine when the host terminal goes away; `akuma run`
        # passes every key to the program and hangs its session up.
        self.machine = machine
        self.escape = EscapeKeys(self._escape_exit, kernel.vfs.sync_all, self.push) \
            if machine else None
        self.in_fd, self.out_fd = in_fd, out_fd
        self.saved = termios.tcgetattr(in_fd)
        self.tty = Tty(kernel, b"console", CONSOLE_RDEV, self)
        self.tty.winsize = self._host_winsize()
        self._watcher = self._watch_pipe = None
        self._winch_pipe = self._room_pipe = None
        self._old_winch = None
        self._stopped = False
        self._start_watcher()
        termios.tcsetattr(in_fd, termios.TCSAFLUSH, raw_mode(self.saved))
        atexit.register(self.stop)
        self.writer = _Writer(out_fd, self._room_signal)
        self.writer.start()
        sched = kernel.sched
        sched.add_wake_fd(in_fd, self._on_input)
        self._room_pipe = _pipe()
        sched.add_wake_fd(self._room_pipe[0], self._on_room)
        self._winch_pipe = _pipe()
        sched.add_wake_fd(self._winch_pipe[0], self._on_winch)
        if threading.current_thread() is threading.main_thread():
            self._old_winch = signal.signal(signal.SIGWINCH, self._winch_signal)
        kernel.console = self

    # -- the kernel side ----------------------------------------------------------------
    def open_file(self, flags=F.O_RDWR):
        """An open /dev/console for a process's fds 0-2."""
        from akuma.abi import KernelError
        from akuma.kernel.tty.pty import pty_table
        try:
            node = self.kernel.vfs.resolve(b"/dev/console").inode
        except KernelError:         # no /dev: a node of its own
            node = pty_table(self.kernel)._node(CONSOLE_RDEV, None)
        return TtyFile(self.tty, node, flags, b"/dev/console")

    def room(self):
        return OUTPUT_QUEUE_MAX - self.writer.queued()

    def push(self, data):
        self.writer.push(data)

    def queued(self):
        return self.writer.queued()

    def log_stream(self):
        """A stream for the kernel's log lines: raw mode needs \\r\\n, and the
        lines stay in order with the guest's output."""
        return _LogStream(self)

    # -- host events (in the kernel loop) ----------------------------------------------------
    def _on_input(self):
        try:
            data = os.read(self.in_fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            # The host terminal is gone: hang up (SIGHUP to the session).
            _remove_wake_fd(self.kernel.sched, self.in_fd)
            self.tty.hangup()
            if self.machine:
                self.kernel.stop_machine("the console hung up", 128 + signal.SIGHUP)
            return
        if self.escape is not None:
            data = self.escape.filter(data)
        self.tty.input(data, limit=None)

    def _escape_exit(self):
        self.kernel.stop_machine("terminated (C-a x)")

    def _room_signal(self):
        try:
            os.write(self._room_pipe[1], b"r")
        except OSError:
            pass

    def _on_room(self):
        _drain(self._room_pipe[0])
        self.tty.wake_all()

    def _winch_signal(self, signum, frame):
        try:
            os.write(self._winch_pipe[1], b"w")
        except OSError:
            pass

    def _on_winch(self):
        _drain(self._winch_pipe[0])
        self.tty.set_winsize(self._host_winsize())

    def _host_winsize(self):
        from akuma.kernel.tty.termios import WinSize
        try:
            raw = fcntl.ioctl(self.out_fd, termios.TIOCGWINSZ, b"\0" * 8)
            return WinSize.unpack(raw)
        except OSError:
            return WinSize(24, 80)

    # -- restoring the host ---------------------------------------------------------------------
    def _start_watcher(self):
        r, w = os.pipe()
        try:
            self._watcher = subprocess.Popen(
                [sys.executable, "-S", "-c", _WATCHER, repr(self.saved), str(r)],
                stdin=self.in_fd, pass_fds=(r,), start_new_session=True)
        except OSError:
            self._watcher = None
            os.close(w)
        else:
            self._watch_pipe = w
            os.set_inheritable(w, False)
        finally:
            os.close(r)

    def stop(self):
        """Flush the output and give the host terminal back as it was."""
        if self._stopped:
            return
        self._stopped = True
        self.writer.drain(2.0)
        self.writer.close()
        try:
            termios.tcsetattr(self.in_fd, termios.TCSADRAIN, self.saved)
        except (OSError, termios.error):
            pass
        if self._old_winch is not None:
            try:
                signal.signal(signal.SIGWINCH, self._old_winch)
            except (ValueError, TypeError):
                pass
        if self._watch_pipe is not None:
            try:
                os.write(self._watch_pipe, b"done")
            except OSError:
                pass
            os.close(self._watch_pipe)
            self._watch_pipe = None
        if self._watcher is not None:
            try:
                self._watcher.wait(2.0)
            except subprocess.TimeoutExpired:
                pass
        for fd in (self._winch_pipe or ()) + (self._room_pipe or ()):
            _remove_wake_fd(self.kernel.sched, fd)
        _remove_wake_fd(self.kernel.sched, self.in_fd)
        for fd in (self._winch_pipe or ()) + (self._room_pipe or ()):
            os.close(fd)
        self._winch_pipe = self._room_pipe = None
        if self.kernel.console is self:
            self.kernel.console = None
        try:
            atexit.unregister(self.stop)
        except Exception:
            pass


class _LogStream:
    def __init__(self, console):
        self.console = console

    def write(self, s):
        data = s.encode(errors="replace").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if self.console._stopped:
            sys.stderr.write(s)
        else:
            self.console.push(data)
        return len(s)

    def flush(self):
        pass


def _pipe():
    r, w = os.pipe()
    for fd in (r, w):
        os.set_blocking(fd, False)
    return r, w


def _drain(fd):
    try:
        while os.read(fd, 512):
            pass
    except OSError:
        pass


def _remove_wake_fd(sched, fd):
    """The scheduler has no removal call yet: unregister our fd by hand."""
    wake = getattr(sched, "_wake_fds", None)
    if wake is not None and wake.pop(fd, None) is not None:
        try:
            sched._update_registration(fd)
        except Exception:
            pass


def host_console(kernel, files, claim_session=True, machine=False):
    """`akuma run`: when stdin and stdout are a terminal, the program gets
    the console instead of the host fds (stderr too, unless redirected) and
    the console is the controlling terminal of the first session.  Returns
    the files for fds 0-2 and the Console (None: host fds as before).
    ``claim_session=False`` is Linux's /dev/console for init: no controlling
    terminal until a session leader (getty, init's `-/bin/sh`) asks with
    TIOCSCTTY.  ``machine``: a booted machine's console (tty/escape.py's
    Ctrl+A keys; a host hangup stops the machine)."""
    try:
        if not (os.isatty(0) and os.isatty(1)):
            return files, None
        console = Console(kernel, 0, 1, machine=machine)
    except (OSError, termios.error):
        return files, None
    f = console.open_file()
    # A booted machine's programs write errors (and prompts) to the console
    # even when akuma's own stderr is redirected; a single program keeps it.
    out = [f, f, f if os.isatty(2) or machine else files[2]]
    for old in files[:3]:
        if old is not out[2]:
            old.close()
    if claim_session:
        from akuma.kernel.tty import jobctl
        jobctl.claim_next_session(kernel, console.tty)
    kernel.log_file = console.log_stream()
    return out, console
