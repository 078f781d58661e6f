"""A Backend on the host: sessions are host processes (pipes, or a host pty),
sftp works in a directory tree, forwarding uses host sockets on loopback.

For tests and benchmarks of the protocol core.  It is not a security
boundary: every "user" runs as the host user, and the sftp root can be left
through symlinks.
"""
import asyncio
import errno
import fcntl
import logging
import os
import posixpath
import signal as signalmod
import socket
import struct
import subprocess
import termios

from .backend import BackendError, FileAttributes

log = logging.getLogger("akuma.ssh")

# RFC 4254 §8 opcodes -> (termios flag field index, flag) for the modes that matter.
_MODE_FLAGS = {
    30: (0, "IGNPAR"), 31: (0, "PARMRK"), 32: (0, "INPCK"), 33: (0, "ISTRIP"), 34: (0, "INLCR"),
    35: (0, "IGNCR"), 36: (0, "ICRNL"), 38: (0, "IXON"), 39: (0, "IXANY"), 40: (0, "IXOFF"),
    50: (3, "ISIG"), 51: (3, "ICANON"), 53: (3, "ECHO"), 54: (3, "ECHOE"), 55: (3, "ECHOK"),
    56: (3, "ECHONL"), 57: (3, "NOFLSH"), 58: (3, "TOSTOP"), 59: (3, "IEXTEN"), 60: (3, "ECHOCTL"),
    61: (3, "ECHOKE"), 70: (1, "OPOST"), 72: (1, "ONLCR"),
}
_MODE_CHARS = {1: "VINTR", 2: "VQUIT", 3: "VERASE", 4: "VKILL", 5: "VEOF", 6: "VEOL",
               8: "VSTART", 9: "VSTOP", 10: "VSUSP", 12: "VREPRINT", 13: "VWERASE", 14: "VLNEXT"}


def apply_terminal_modes(fd, modes):
    attrs = termios.tcgetattr(fd)
    for opcode, value in modes.items():
        if opcode in _MODE_FLAGS:
            index, name = _MODE_FLAGS[opcode]
            flag = getattr(termios, name, 0)
            attrs[index] = attrs[index] | flag if value else attrs[index] & ~flag
        elif opcode in _MODE_CHARS and hasattr(termios, _MODE_CHARS[opcode]):
            attrs[6][getattr(termios, _MODE_CHARS[opcode])] = bytes((value & 0xff,))
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def set_window_size(fd, cols, rows, width_px, height_px):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, width_px, height_px))


def _signal_number(name):
    number = getattr(signalmod, "SIG" + name, None)
    if not isinstance(number, int):
        raise BackendError(f"unknown signal {name}")
    return number


class _Process:
    """A host process for one session: the SessionProcess handle."""

    def __init__(self, sink, argv, cwd, env, pty):
        self.sink = sink
        self.pty = pty
        self.loop = asyncio.get_running_loop()
        self.master = None
        self.transport = None
        self.pid = None
        self._stdin_pending = []
        self._stdin_eof = False
        self._open_streams = 1 if pty is not None else 2   # pty master, or stdout+stderr
        self._returncode = None
        self._done = False
        self._paused = False
        self._pty_out = bytearray()
        self._task = self.loop.create_task(self._spawn(argv, cwd, env))

    async def _spawn(self, argv, cwd, env):
        try:
            if self.pty is not None:
                await self._spawn_pty(argv, cwd, env)
            else:
                self.transport, _ = await self.loop.subprocess_exec(
                    lambda: _PipeProtocol(self), *argv, cwd=cwd, env=env,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            self.sink.stderr(f"cannot run {argv[0]}: {e.strerror}\r\n".encode())
            self.sink.exited(status=127)
            self._done = True
            return
        self.pid = self.transport.get_pid()
        for data in self._stdin_pending:
            self.write_stdin(data)
        self._stdin_pending = []
        if self._stdin_eof:
            self.close_stdin()
        if self._paused:
            self.set_output_paused(True)

    async def _spawn_pty(self, argv, cwd, env):
        master, slave = os.openpty()
        try:
            set_window_size(slave, self.pty.cols, self.pty.rows, self.pty.width_px, self.pty.height_px)
            apply_terminal_modes(slave, self.pty.modes)
            self.transport, _ = await self.loop.subprocess_exec(
                lambda: _PipeProtocol(self), *argv, cwd=cwd, env=env,
                stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self.master = master
        self.loop.add_reader(master, self._read_pty)

    def _read_pty(self):
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:            # EIO: every slave fd is closed
            data = b""
        if data:
            self.sink.stdout(data)
        else:
            self.loop.remove_reader(self.master)
            self.stream_closed()

    def stream_closed(self):
        self._open_streams -= 1
        self._maybe_exited()

    def process_exited(self):
        self._returncode = self.transport.get_returncode()
        self._maybe_exited()

    def _maybe_exited(self):
        if self._done or self._returncode is None or self._open_streams > 0:
            return
        self._done = True
        self._close_master()
        rc = self._returncode
        if rc < 0:
            try:
                name = signalmod.Signals(-rc).name[3:]
            except ValueError:
                name = "KILL"
            self.sink.exited(signal=name)
        else:
            self.sink.exited(status=rc)

    def _close_master(self):
        if self.master is not None:
            self.loop.remove_reader(self.master)
            self.loop.remove_writer(self.master)
            os.close(self.master)
            self.master = None

    # -- SessionProcess -------------------------------------------------------
    def write_stdin(self, data):
        if self.transport is None:
            self._stdin_pending.append(data)
        elif self.master is not None:
            self._pty_out += data
            self._write_pty()
        elif not self._done:
            pipe = self.transport.get_pipe_transport(0)
            if pipe is not None and not pipe.is_closing():
                pipe.write(data)

    def _write_pty(self):
        try:
            n = os.write(self.master, self._pty_out)
        except BlockingIOError:
            n = 0
        except OSError:
            self._pty_out.clear()
            n = 0
        del self._pty_out[:n]
        if self._pty_out:
            self.loop.add_writer(self.master, self._write_pty)
        else:
            self.loop.remove_writer(self.master)

    def close_stdin(self):
        if self.transport is None:
            self._stdin_eof = True
        elif self.master is None:
            pipe = self.transport.get_pipe_transport(0)
            if pipe is not None:
                pipe.close()

    def resize(self, cols, rows, width_px, height_px):
        if self.master is None:
            raise BackendError("no pty")
        set_window_size(self.master, cols, rows, width_px, height_px)   # the kernel sends SIGWINCH

    def signal(self, name):
        if self.pid is None or self._returncode is not None:
            raise BackendError("process not running")
        os.kill(self.pid, _signal_number(name))

    def set_output_paused(self, paused):
        self._paused = paused
        if self.transport is None or self._done:
            return
        if self.master is not None:
            (self.loop.remove_reader(self.master) if paused
             else self.loop.add_reader(self.master, self._read_pty))
            return
        for fd in (1, 2):
            pipe = self.transport.get_pipe_transport(fd)
            if pipe is not None and not pipe.is_closing():
                pipe.pause_reading() if paused else pipe.resume_reading()

    def terminate(self):
        self._done = True
        if self.transport is None:
            self._task.cancel()
            return
        if self._returncode is None and self.pid is not None:
            try:
                if self.master is not None:
                    os.killpg(self.pid, signalmod.SIGHUP)
                else:
                    os.kill(self.pid, signalmod.SIGHUP)
            except ProcessLookupError:
                pass
        self._close_master()
        self.transport.close()


class _PipeProtocol(asyncio.SubprocessProtocol):
    def __init__(self, process):
        self.process = process

    def connection_made(self, transport):
        # Exit and output may be reported before subprocess_exec returns.
        self.process.transport = transport

    def pipe_data_received(self, fd, data):
        if fd == 1:
            self.process.sink.stdout(data)
        elif fd == 2:
            self.process.sink.stderr(data)

    def pipe_connection_lost(self, fd, exc):
        if fd in (1, 2) and self.process.master is None:
            self.process.stream_closed()

    def process_exited(self):
        self.process.process_exited()


class _HostStream(asyncio.Protocol):
    """A host TCP connection as a backend Stream."""

    def __init__(self, sink=None, on_connected=None):
        self.sink = sink
        self.transport = None
        self._early = []
        self._on_connected = on_connected

    def connection_made(self, transport):
        self.transport = transport
        if self._on_connected is not None:
            self._on_connected(self)

    def data_received(self, data):
        if self.sink is None:
            self._early.append(data)
            self.transport.pause_reading()
        else:
            self.sink.data(data)

    def eof_received(self):
        if self.sink is not None:
            self.sink.eof()
        return True

    def connection_lost(self, exc):
        sink, self.sink = self.sink, None
        if sink is not None:
            sink.closed()

    # Stream
    def attach(self, sink):
        self.sink = sink
        for data in self._early:
            sink.data(data)
        self._early = []
        if self.transport is not None:
            self.transport.resume_reading()

    def write(self, data):
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def write_eof(self):
        if self.transport is not None and self.transport.can_write_eof() and not self.transport.is_closing():
            self.transport.write_eof()

    def close(self):
        self.sink = None
        if self.transport is not None:
            self.transport.close()

    def set_paused(self, paused):
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading() if paused else self.transport.resume_reading()


class _PendingStream:
    """direct-tcpip: the Stream handle while the host connect is in flight."""

    def __init__(self, loop, host, port, sink):
        self.sink = sink
        self.stream = None
        self.closed = False
        self._task = loop.create_task(self._connect(loop, host, port))

    async def _connect(self, loop, host, port):
        try:
            _, stream = await loop.create_connection(lambda: _HostStream(self.sink), host, port)
        except OSError as e:
            self.sink.open_failed(e.strerror or str(e))
            return
        if self.closed:
            stream.close()
            return
        self.stream = stream
        self.sink.opened()

    def attach(self, sink):
        self.sink = sink

    def write(self, data):
        if self.stream is not None:
            self.stream.write(data)

    def write_eof(self):
        if self.stream is not None:
            self.stream.write_eof()

    def close(self):
        self.closed = True
        if self.stream is not None:
            self.stream.close()
        else:
            self._task.cancel()

    def set_paused(self, paused):
        if self.stream is not None:
            self.stream.set_paused(paused)


class _Listener:
    """A tcpip-forward listener on an already bound, listening socket."""

    def __init__(self, loop, sock, protocol_factory):
        self._sock = sock
        self._server = None
        self._closed = False
        self._task = loop.create_task(self._serve(loop, protocol_factory))

    async def _serve(self, loop, protocol_factory):
        self._server = await loop.create_server(protocol_factory, sock=self._sock)
        if self._closed:
            self._server.close()

    def close(self):
        self._closed = True
        if self._server is not None:
            self._server.close()
        else:
            self._task.cancel()
            self._sock.close()


_LOOPBACK = {"", "localhost", "127.0.0.1", "0.0.0.0", "::1", "::"}


class HostBackend:
    """users: {name: UserInfo}; keys: {name: [public key blobs]}."""

    def __init__(self, users, keys, sftp_root=None, passwords=None, shell_env=None):
        self.users = users
        self.keys = keys
        self.sftp_root = sftp_root
        self.passwords = passwords or {}
        self.shell_env = shell_env if shell_env is not None else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def lookup_user(self, name):
        return self.users.get(name)

    def authorized_keys(self, user):
        return list(self.keys.get(user.name, ()))

    def check_password(self, user, password):
        expected = self.passwords.get(user.name)
        return expected is not None and password == expected

    def start_session(self, request, sink):
        user = request.user
        env = dict(self.shell_env)
        env.update(request.env)
        env.update(HOME=user.home, USER=user.name, LOGNAME=user.name, SHELL=user.shell)
        if request.pty is not None:
            env["TERM"] = request.pty.term
        argv = [user.shell] if request.command is None else [user.shell, "-c", request.command]
        return _Process(sink, argv, user.home, env, request.pty)

    def sftp_filesystem(self, user):
        if self.sftp_root is None:
            raise BackendError("sftp is not configured")
        return HostFilesystem(self.sftp_root)

    def open_direct_tcpip(self, user, host, port, originator_host, originator_port, sink):
        if host not in _LOOPBACK:
            raise BackendError("the host backend forwards to loopback only")
        return _PendingStream(asyncio.get_running_loop(), "127.0.0.1", port, sink)

    def listen_tcpip(self, user, address, port, acceptor):
        if address not in _LOOPBACK:
            raise BackendError("the host backend listens on loopback only")
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(16)
        except OSError:
            sock.close()
            raise
        bound = sock.getsockname()[1]

        def accepted(stream):
            host, peer_port = stream.transport.get_extra_info("peername")[:2]
            acceptor(stream, host, peer_port)
        return _Listener(loop, sock, lambda: _HostStream(on_connected=accepted)), bound


def _attrs(st):
    return FileAttributes(size=st.st_size, uid=st.st_uid, gid=st.st_gid, permissions=st.st_mode,
                          atime=int(st.st_atime), mtime=int(st.st_mtime))


class _HostFile:
    def __init__(self, fd):
        self.fd = fd

    def read(self, offset, length):
        return os.pread(self.fd, length, offset)

    def write(self, offset, data):
        os.pwrite(self.fd, data, offset)

    def fstat(self):
        return _attrs(os.fstat(self.fd))

    def fsetstat(self, attrs):
        _apply_attrs(self.fd, attrs)

    def fsync(self):
        os.fsync(self.fd)

    def close(self):
        os.close(self.fd)


def _apply_attrs(target, attrs):
    if attrs.size is not None:
        os.truncate(target, attrs.size)
    if attrs.permissions is not None:
        os.chmod(target, attrs.permissions & 0o7777)
    if attrs.uid is not None and attrs.gid is not None:
        os.chown(target, attrs.uid, attrs.gid)
    if attrs.atime is not None and attrs.mtime is not None:
        os.utime(target, (attrs.atime, attrs.mtime))


class HostFilesystem:
    """SftpFilesystem over a host directory shown to the client as "/"."""

    def __init__(self, root):
        self.root = os.path.realpath(root)

    def _virtual(self, path):
        return posixpath.normpath(posixpath.join("/", path))

    def _host(self, path):
        return os.path.join(self.root, self._virtual(path).lstrip("/"))

    def open(self, path, flags, attrs):
        mode = attrs.permissions & 0o7777 if attrs.permissions is not None else 0o644
        return _HostFile(os.open(self._host(path), flags | os.O_CLOEXEC, mode))

    def stat(self, path):
        return _attrs(os.stat(self._host(path)))

    def lstat(self, path):
        return _attrs(os.lstat(self._host(path)))

    def setstat(self, path, attrs):
        _apply_attrs(self._host(path), attrs)

    def listdir(self, path):
        host = self._host(path)
        names = [".", ".."] + sorted(os.listdir(host))
        return [(name, _attrs(os.lstat(os.path.join(host, name)))) for name in names]

    def remove(self, path):
        os.unlink(self._host(path))

    def mkdir(self, path, attrs):
        os.mkdir(self._host(path), attrs.permissions & 0o7777 if attrs.permissions is not None else 0o755)

    def rmdir(self, path):
        os.rmdir(self._host(path))

    def realpath(self, path):
        return self._virtual(path)

    def rename(self, old, new, overwrite):
        if overwrite:
            os.rename(self._host(old), self._host(new))
        else:
            os.link(self._host(old), self._host(new)) if not os.path.isdir(self._host(old)) \
                else self._rename_dir(old, new)
            if not os.path.isdir(self._host(old)):
                os.unlink(self._host(old))

    def _rename_dir(self, old, new):
        if os.path.lexists(self._host(new)):
            raise FileExistsError(errno.EEXIST, "File exists")
        os.rename(self._host(old), self._host(new))

    def readlink(self, path):
        return os.readlink(self._host(path))

    def symlink(self, target, link_path):
        os.symlink(target, self._host(link_path))

    def hardlink(self, old, new):
        os.link(self._host(old), self._host(new))

    def statvfs(self, path):
        v = os.statvfs(self._host(path))
        return {"bsize": v.f_bsize, "frsize": v.f_frsize, "blocks": v.f_blocks, "bfree": v.f_bfree,
                "bavail": v.f_bavail, "files": v.f_files, "ffree": v.f_ffree, "favail": v.f_favail,
                "fsid": v.f_fsid, "flag": v.f_flag, "namemax": v.f_namemax}
