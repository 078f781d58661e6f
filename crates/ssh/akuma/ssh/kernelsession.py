"""An SSH session as a guest process: the user's shell (or ``shell -c
command``) spawned by the kernel with the user's ids, in their home, on a
new pty (controlling terminal of its own session) or on three kernel pipes.

Output is read when the pty/pipes wake us (deferred to the loop, see
kernelsock.Soon); the exit is reported once the process is dead and its
output drained: for pipes, at EOF on stdout and stderr (as sshd does); for a
pty, as soon as the shell is gone (its session was hung up)."""
import errno
import logging

from akuma.abi import KernelError
from akuma.abi import signals as S
from akuma.kernel.pipe import Pipe, PipeEnd
from akuma.kernel.task import Creds
from akuma.kernel.tty import jobctl
from akuma.kernel.tty import termios as T

from .backend import BackendError
from .kernelsock import Soon

log = logging.getLogger("akuma.ssh")

READ_CHUNK = 32768
PATH_USER = "/usr/local/bin:/usr/bin:/bin"
PATH_ROOT = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Client "env" requests sshd accepts by default (AcceptEnv LANG LC_*).
_ACCEPT_ENV = ("LANG", "LC_")

# RFC 4254 §8 opcodes -> (termios field, flag) and -> c_cc index.
_MODE_FLAGS = {
    30: ("iflag", T.IGNPAR), 31: ("iflag", T.PARMRK), 32: ("iflag", T.INPCK),
    33: ("iflag", T.ISTRIP), 34: ("iflag", T.INLCR), 35: ("iflag", T.IGNCR),
    36: ("iflag", T.ICRNL), 37: ("iflag", T.IUCLC), 38: ("iflag", T.IXON),
    39: ("iflag", T.IXANY), 40: ("iflag", T.IXOFF), 41: ("iflag", T.IMAXBEL),
    42: ("iflag", T.IUTF8),
    50: ("lflag", T.ISIG), 51: ("lflag", T.ICANON), 52: ("lflag", T.XCASE), 53: ("lflag", T.ECHO),
    54: ("lflag", T.ECHOE), 55: ("lflag", T.ECHOK), 56: ("lflag", T.ECHONL),
    57: ("lflag", T.NOFLSH), 58: ("lflag", T.TOSTOP), 59: ("lflag", T.IEXTEN),
    60: ("lflag", T.ECHOCTL), 61: ("lflag", T.ECHOKE), 62: ("lflag", T.PENDIN),
    70: ("oflag", T.OPOST), 71: ("oflag", T.OLCUC), 72: ("oflag", T.ONLCR),
    73: ("oflag", T.OCRNL), 74: ("oflag", T.ONOCR), 75: ("oflag", T.ONLRET),
}
_MODE_CHARS = {1: T.VINTR, 2: T.VQUIT, 3: T.VERASE, 4: T.VKILL, 5: T.VEOF, 6: T.VEOL,
               7: T.VEOL2, 8: T.VSTART, 9: T.VSTOP, 10: T.VSUSP, 12: T.VREPRINT,
               13: T.VWERASE, 14: T.VLNEXT, 18: T.VDISCARD}


def apply_modes(tty, modes):
    """pty-req terminal modes onto the pty's termios (unknown opcodes are
    ignored, as the RFC asks)."""
    new = tty.termios.copy()
    for opcode, value in modes.items():
        if opcode in _MODE_FLAGS:
            name, flag = _MODE_FLAGS[opcode]
            setattr(new, name, getattr(new, name) | flag if value else getattr(new, name) & ~flag)
        elif opcode in _MODE_CHARS:
            new.cc[_MODE_CHARS[opcode]] = 0 if value == 255 else value & 0xFF
    tty.set_termios(new)


def signal_number(name):
    number = getattr(S, "SIG" + name, None)
    if not isinstance(number, int) or name.startswith("_") or number <= 0:
        raise BackendError(f"unknown signal {name}")
    return number


def signal_name(number):
    for attr in dir(S):
        if attr.startswith("SIG") and not attr.startswith("SIG_") and attr not in (
                "SIGRTMIN", "SIGRTMAX") and getattr(S, attr) == number:
            return attr[3:]
    return f"SIG{number}"


def session_env(request, groups_env=None):
    user = request.user
    env = {k: v for k, v in request.env.items() if k.startswith(_ACCEPT_ENV)}
    env.update(HOME=user.home, USER=user.name, LOGNAME=user.name, SHELL=user.shell,
               PATH=PATH_ROOT if user.uid == 0 else PATH_USER)
    if request.pty is not None:
        env["TERM"] = request.pty.term or "dumb"
    return [f"{k}={v}".encode() for k, v in env.items()]


class KernelSession:
    """The SessionProcess handle of one guest process."""

    def __init__(self, kernel, request, sink, groups):
        self.kernel = kernel
        self.sink = sink
        self.request = request
        self.master = None               # pty master (PtyMaster)
        self.stdin = self.stdout = self.stderr = None   # our pipe ends
        self.stdin_buf = bytearray()
        self.stdin_eof = False
        self.paused = False
        self.done = False
        self.soon = Soon(kernel, self.pump)
        user = request.user
        shell = user.shell or "/bin/sh"
        base = shell.rsplit("/", 1)[-1]
        if request.command is None:
            argv = [b"-" + base.encode()]                  # a login shell
        else:
            argv = [base.encode(), b"-c", request.command.encode("utf-8", "surrogateescape")]
        files = self._pty_files() if request.pty is not None else self._pipe_files()
        cwd = self._home(user.home)
        from akuma.kernel.kernel import ExecError
        try:
            self.proc = kernel.spawn(shell.encode(), argv, session_env(request), files=files,
                                     cwd=cwd)
        except ExecError as e:
            self._release()
            raise BackendError(f"cannot run {shell}: {e}") from None
        p = self.proc
        p.creds = Creds(user.uid, user.uid, user.uid, user.gid, user.gid, user.gid, list(groups))
        p.exit_listeners = [self.soon.kick]
        if self.master is not None:
            jobctl.set_ctty(kernel, p, self.master.pty.tty)   # a session leader already
        self.soon.kick()

    def _home(self, home):
        try:
            if self.kernel.vfs.stat(home.encode()).is_dir:
                return home.encode()
        except KernelError:
            pass
        return b"/"

    def _pty_files(self):
        from akuma.kernel.tty.pty import open_pty
        pty = self.request.pty
        master, slave, _index = open_pty(self.kernel)
        self.master = master
        tty = master.pty.tty
        apply_modes(tty, pty.modes)
        tty.set_winsize(T.WinSize(pty.rows, pty.cols, pty.width_px, pty.height_px))
        master.on_wake(self.soon.kick)
        uid, gid = self.request.user.uid, self.request.user.gid
        node = master.pty.node
        if node is not None and hasattr(node, "chown"):
            try:
                node.chown(uid, gid)            # the user owns their terminal, as login does
            except KernelError:
                pass
        return [slave, slave, slave]

    def _pipe_files(self):
        pipes = [Pipe(self.kernel.sched) for _ in range(3)]
        for p in pipes:
            p.listeners.append(self.soon.kick)
        self.stdin = PipeEnd(pipes[0], True)
        self.stdout = PipeEnd(pipes[1], False)
        self.stderr = PipeEnd(pipes[2], False)
        return [PipeEnd(pipes[0], False), PipeEnd(pipes[1], True), PipeEnd(pipes[2], True)]

    # -- the pump ----------------------------------------------------------------
    def pump(self):
        if self.done:
            return
        self._feed_stdin()
        if self.master is not None:
            streams_done = self._drain_pty()
        else:
            streams_done = self._drain_pipe(self.stdout, self.sink.stdout) & \
                self._drain_pipe(self.stderr, self.sink.stderr)
        p = self.proc
        if not p.alive and (streams_done or self.master is not None):
            if self.master is not None and not self.paused:
                self._drain_pty()
            self._report(p.exit_status)

    def _feed_stdin(self):
        if self.master is not None:
            while self.stdin_buf:
                try:
                    n = self.master.write_nowait(bytes(self.stdin_buf[:4096]))
                except KernelError:
                    self.stdin_buf.clear()
                    break
                if n <= 0:
                    break
                del self.stdin_buf[:n]
            return
        if self.stdin is None:
            return
        while self.stdin_buf:
            try:
                n = self.stdin.writefrom([memoryview(self.stdin_buf)[:65536]])
            except KernelError as e:
                if e.errno != errno.EAGAIN:      # EPIPE: nobody reads stdin any more
                    self.stdin_buf.clear()
                break
            del self.stdin_buf[:n]
        if self.stdin_eof and not self.stdin_buf:
            self._close_end("stdin")

    def _drain_pty(self):
        """Forward pty output; True once the slave side is gone."""
        while not self.paused:
            try:
                data = self.master.read_nowait(READ_CHUNK)
            except KernelError:
                return True                      # EIO: every slave fd closed
            if not data:
                return False
            self.sink.stdout(data)
        return False

    def _drain_pipe(self, end, deliver):
        """Forward one pipe; True at EOF."""
        if end is None:
            return True
        while not self.paused:
            buf = bytearray(READ_CHUNK)
            n = end.readinto([memoryview(buf)])
            if n:
                deliver(bytes(buf[:n]))
                continue
            return end.pipe.writers == 0
        return False

    def _report(self, status):
        self.done = True
        self._release()
        if status & 0x7F == 0:
            self.sink.exited(status=(status >> 8) & 0xFF)
        else:
            self.sink.exited(signal=signal_name(status & 0x7F), core_dumped=bool(status & 0x80))

    # -- SessionProcess ------------------------------------------------------------
    def write_stdin(self, data):
        if self.done or self.stdin_eof:
            return
        self.stdin_buf += data
        self._feed_stdin()

    def close_stdin(self):
        if self.master is None:
            self.stdin_eof = True
            self._feed_stdin()

    def resize(self, cols, rows, width_px, height_px):
        if self.master is None:
            raise BackendError("no pty")
        # TIOCSWINSZ: the tty signals SIGWINCH to its foreground group on a change.
        self.master.pty.tty.set_winsize(T.WinSize(rows, cols, width_px, height_px))

    def signal(self, name):
        if self.done or not self.proc.alive:
            raise BackendError("process not running")
        self.kernel.send_signal(self.proc, signal_number(name))

    def set_output_paused(self, paused):
        self.paused = paused
        if not paused:
            self.soon.kick()

    def terminate(self):
        if self.done:
            return
        self.done = True
        p = self.proc
        if p.alive and self.master is None:
            self.kernel.send_signal(p, S.SIGHUP)
        self._release()                           # closing the master hangs the pty up

    # -- resources --------------------------------------------------------------------
    def _close_end(self, name):
        end = getattr(self, name)
        if end is not None:
            setattr(self, name, None)
            end.pipe.listeners.clear()
            end.close()

    def _release(self):
        self.soon.cancel()
        proc = getattr(self, "proc", None)
        if proc is not None:
            proc.exit_listeners = []
            if not proc.alive and proc.parent is None:
                # Nobody waits for a session process: reap it.
                self.kernel.processes.pop(proc.pid, None)
        for name in ("stdin", "stdout", "stderr"):
            self._close_end(name)
        if self.master is not None:
            master, self.master = self.master, None
            try:
                listeners = master.pty.tty.listeners
                if self.soon.kick in listeners:
                    listeners.remove(self.soon.kick)
                master.close()
            except KernelError:
                pass
