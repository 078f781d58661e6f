"""Session channels (RFC 4254 §6): pty-req, env, shell, exec, the sftp
subsystem, window-change, signal; exit-status/exit-signal at the end."""
import logging

from . import wire
from .backend import BackendError, PtyRequest, SessionRequest
from .channels import Channel
from .sftp import SftpServer

log = logging.getLogger("akuma.ssh")

MAX_ENV = 64
TTY_OP_END = 0


def parse_terminal_modes(blob):
    """RFC 4254 §8: opcode byte + uint32 argument, up to TTY_OP_END; opcodes
    160-255 are undefined and end the parse (their argument size is unknown)."""
    modes = {}
    r = wire.Reader(blob)
    while not r.at_end():
        opcode = r.byte()
        if opcode == TTY_OP_END or opcode >= 160:
            break
        modes[opcode] = r.u32()
    return modes


class SessionChannel(Channel):
    kind = "session"

    def __init__(self, conn, local_id):
        super().__init__(conn, local_id)
        self.pty = None
        self.env = {}
        self.process = None
        self.sftp = None
        self.started = False
        self.process_ended = False

    def start(self, r):
        self.conn.channels.confirm(self)

    def request(self, name, want_reply, r):
        if name == "pty-req":
            if self.started or self.pty is not None:
                return False
            term = r.text()
            cols, rows, width_px, height_px = r.u32(), r.u32(), r.u32(), r.u32()
            self.pty = PtyRequest(term, cols, rows, width_px, height_px, parse_terminal_modes(r.string()))
            return True
        if name == "env":
            key, value = r.text(), r.text()
            if self.started or len(self.env) >= MAX_ENV or not key or "=" in key or "\0" in key + value:
                return False
            self.env[key] = value
            return True
        if name in ("shell", "exec"):
            return self._start_process(r.text() if name == "exec" else None)
        if name == "subsystem":
            return self._start_subsystem(r.text())
        if name == "window-change":
            cols, rows, width_px, height_px = r.u32(), r.u32(), r.u32(), r.u32()
            if self.process is None or self.pty is None:
                return False
            return self._call_process("resize", cols, rows, width_px, height_px)
        if name == "signal":
            signame = r.text()
            return self.process is not None and self._call_process("signal", signame)
        return False                   # x11-req, auth-agent-req, break, keepalive@openssh.com...

    def _start_process(self, command):
        if self.started:
            return False
        self.started = True
        request = SessionRequest(self.conn.user, command, self.pty, dict(self.env))
        try:
            self.process = self.conn.backend.start_session(request, self)
        except (OSError, BackendError) as e:
            log.warning("ssh %s: cannot start session for %s: %s", self.conn.peer, self.conn.user.name, e)
            return False
        log.info("ssh %s: %s for %s%s", self.conn.peer, "exec " + repr(command) if command is not None
                 else "shell", self.conn.user.name, " with pty" if self.pty else "")
        return True

    def _start_subsystem(self, name):
        if self.started or name != "sftp":
            return False
        self.started = True
        try:
            fs = self.conn.backend.sftp_filesystem(self.conn.user)
        except (OSError, BackendError) as e:
            log.warning("ssh %s: no sftp for %s: %s", self.conn.peer, self.conn.user.name, e)
            return False
        self.sftp = SftpServer(fs, peer=self.conn.peer)
        return True

    def _call_process(self, method, *args):
        try:
            getattr(self.process, method)(*args)
            return True
        except (OSError, BackendError) as e:
            log.info("ssh %s: session %s failed: %s", self.conn.peer, method, e)
            return False

    # -- client data -------------------------------------------------------------
    def received(self, data):
        if self.process is not None:
            self._call_process("write_stdin", data)
        elif self.sftp is not None:
            for reply in self.sftp.feed(data):
                self.send_data(reply)
            if self.sftp.failed:
                self.finish()

    def received_eof(self):
        if self.process is not None:
            self._call_process("close_stdin")
        elif self.sftp is not None:
            # Like sshd when sftp-server exits: scp/sftp check the status.
            self.sftp.close()
            self.finish([("exit-status", wire.u32(0))])
        elif not self.started:
            self.finish()

    def pause_producer(self, paused):
        if self.process is not None:
            self._call_process("set_output_paused", paused)

    def released(self):
        if self.process is not None and not self.process_ended:
            self.process_ended = True
            self._call_process("terminate")
        if self.sftp is not None:
            self.sftp.close()

    # -- SessionSink: called by the backend --------------------------------------
    def stdout(self, data):
        self.conn.call(self.send_data, data)

    def stderr(self, data):
        self.conn.call(self.send_data, data, 1)

    def exited(self, status=None, signal=None, core_dumped=False, message=""):
        self.conn.call(self._exited, status, signal, core_dumped, message)

    def _exited(self, status, signal, core_dumped, message):
        if self.process_ended:
            return
        self.process_ended = True
        if signal is not None:
            final = [("exit-signal", wire.string(signal) + wire.boolean(core_dumped)
                      + wire.string(message) + wire.string(""))]
        else:
            final = [("exit-status", wire.u32((status or 0) & 0xffffffff))]
        self.finish(final)
