"""The SSH server as a kernel service: a listening socket on guest port 22
of ``kernel.net``, one ServerConnection per accepted TCP connection, bytes
moved between them on wake-ups (never blocking the kernel loop).

The ed25519 host key lives in /etc/ssh/ssh_host_ed25519_key on the image
and is generated on first boot.  One log line per login and per ended
connection goes to the kernel log."""
import errno
import logging
import time

from akuma.abi import KernelError
from akuma.abi import fcntl as F

from .config import ServerConfig
from .connection import ServerConnection
from .errors import REASON_NAMES
from .kernelbackend import KernelBackend, read_file
from .kernelsock import Deadline, HostTcp, KernelTcp, Soon, tcp_socket
from .keys import HostKey, KeyFormatError

log = logging.getLogger("akuma.ssh")

HOST_KEY = "/etc/ssh/ssh_host_ed25519_key"
MAX_CONNECTIONS = 128       # sessions beyond this are refused at accept
MAX_SEND_BACKLOG = 4 << 20  # stop reading a client that does not read its output


def load_host_key(kernel):
    """The image's host key; made (and saved, if the root is writable) on first boot."""
    vfs = kernel.vfs
    data = read_file(vfs, HOST_KEY)
    if data:
        try:
            return HostKey.from_openssh(data)
        except KeyFormatError as e:
            kernel.log(f"ssh: {HOST_KEY}: {e}; making a new host key")
    key = HostKey.generate(comment="root@akuma")
    try:
        _save(vfs, HOST_KEY, key.to_openssh(), 0o600)
        _save(vfs, HOST_KEY + ".pub", key.public_line().encode(), 0o644)
        kernel.log(f"ssh: generated host key {HOST_KEY}")
    except KernelError as e:
        kernel.log(f"ssh: cannot save the host key ({errno.errorcode.get(e.errno, e.errno)}); "
                   "it lasts for this boot only")
    return key


def _save(vfs, path, data, mode):
    try:
        vfs.mkdir(b"/etc/ssh", 0o755)
    except KernelError as e:
        if e.errno != errno.EEXIST:
            raise
    f = vfs.open(path.encode(), F.O_WRONLY | F.O_CREAT | F.O_TRUNC, mode, umask=0)
    try:
        f.write(data)
        f.fsync()
    finally:
        f.close()


class _Client:
    """One accepted TCP connection and its ServerConnection."""

    def __init__(self, service, tcp):
        self.service = service
        self.kernel = service.kernel
        self.tcp = tcp
        host, port = self.tcp.peer()
        self.peer = f"{host}:{port}"
        self.conn = ServerConnection(service.config, service.backend, clock=time.monotonic,
                                     peer=self.peer)
        self.user = None
        self.done = False
        self.soon = Soon(self.kernel, self.pump)
        self.deadline = Deadline(self.kernel, self._on_deadline)
        self.conn.on_output = self.soon.kick
        self.tcp.on_wake(self.soon.kick)
        self.soon.kick()

    def _on_deadline(self):
        self.conn.tick()
        self.pump()

    def pump(self):
        if self.done:
            return
        conn, tcp = self.conn, self.tcp
        while not conn.closed and tcp.backlog < MAX_SEND_BACKLOG:
            data = tcp.recv()
            if not data:
                break
            conn.receive_data(data)
        if self.user is None and conn.user is not None:
            self.user = conn.user
            self.kernel.log(f"ssh: {conn.user.name} logged in from {self.peer}")
        if tcp.eof and not conn.closed:
            conn.receive_eof()
        tcp.send(conn.data_to_send())
        if conn.closed and (not tcp.pending or tcp.failed or tcp.eof):
            self._finish()
        else:
            self.deadline.set(conn.next_deadline())

    def _finish(self):
        self.done = True
        self.soon.cancel()
        self.deadline.set(None)
        self.tcp.close()
        self.service.clients.discard(self)
        reason, description, by_peer = self.conn.close_reason or (None, "closed", True)
        who = self.user.name if self.user is not None else "(not logged in)"
        side = "by the client" if by_peer else "by the server"
        self.kernel.log(f"ssh: connection from {self.peer} {who} closed {side}: {description}"
                        + (f" ({REASON_NAMES.get(reason, reason)})" if reason else ""))

    def shutdown(self):
        if not self.done:
            self.conn.disconnect()
            self.pump()


class SshService:
    """``start()`` listens on guest ``port`` (22); ``kernel.ssh`` is the service."""

    def __init__(self, kernel, port=22, config=None, backend=None):
        self.kernel = kernel
        self.port = port
        self.backend = backend or KernelBackend(kernel)
        self.config = config
        self.clients = set()
        self.sock = None
        self.soon = Soon(kernel, self._accept)

    def start(self):
        if self.config is None:
            self.config = ServerConfig(host_key=load_host_key(self.kernel))
        sock = tcp_socket(self.kernel)
        sock.reuseaddr = 1
        sock.bind(("0.0.0.0", self.port))
        sock.listen(MAX_CONNECTIONS)
        sock.listeners.append(self.soon.kick)
        self.sock = sock
        self.kernel.ssh = self
        # Forwarded host connections skip the guest's TCP and the NAT's.
        self.kernel.net.stack.add_local_service(self.port, self._accept_forwarded)
        return self

    def _accept(self):
        while self.sock is not None:
            try:
                child = self.sock.accept(F.O_NONBLOCK)
            except KernelError:
                return
            if len(self.clients) >= MAX_CONNECTIONS:
                self.kernel.log("ssh: too many connections; refusing one")
                child.close()
                continue
            self.clients.add(_Client(self, KernelTcp(child)))

    def _accept_forwarded(self, nat, sock, peer):
        """A host connection forwarded to our port (-p HOST:22), given to us
        by the NAT as a host socket."""
        if self.sock is None or len(self.clients) >= MAX_CONNECTIONS:
            if self.sock is not None:
                self.kernel.log("ssh: too many connections; refusing one")
            sock.close()
            return
        self.clients.add(_Client(self, HostTcp(nat, sock, peer, MAX_SEND_BACKLOG)))

    def stop(self):
        for client in list(self.clients):
            client.shutdown()
        if self.sock is not None:
            self.kernel.net.stack.remove_local_service(self.port, self._accept_forwarded)
            self.soon.cancel()
            self.sock.listeners.clear()
            self.sock.close()
            self.sock = None


def start(kernel, port=22, **config):
    """Start the SSH server on ``kernel``; KernelError if the port is taken."""
    cfg = ServerConfig(host_key=load_host_key(kernel), **config) if config else None
    return SshService(kernel, port, cfg).start()
