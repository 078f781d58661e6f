"""Port forwarding through the kernel's TCP stack: ``ssh -L`` connects a
kernel socket (direct-tcpip), ``ssh -R`` listens on one (tcpip-forward).
Both are pumped by kernel code on wake-ups, like the SSH connections."""
import errno
import os

from akuma.abi import KernelError
from akuma.abi import fcntl as F

from .backend import BackendError
from .kernelsock import KernelTcp, Soon, tcp_socket

_NAMES = {"localhost": "127.0.0.1", "": "0.0.0.0", "::": "0.0.0.0", "::1": "127.0.0.1"}


def _address(host):
    host = _NAMES.get(host, host)
    parts = host.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise BackendError(f"cannot resolve {host!r} (IPv4 addresses and localhost only)")
    return host


class KernelStream:
    """A Stream (backend.py) over one kernel TCP socket."""

    def __init__(self, kernel, sock, sink=None, target=None):
        self.tcp = KernelTcp(sock)
        self.sink = sink
        self.connecting = target is not None
        self._target = target
        self.paused = False
        self.closed = False
        self.eof_sent = False
        self.soon = Soon(kernel, self.pump)
        self.tcp.on_wake(self.soon.kick)
        self.soon.kick()

    def pump(self):
        if self.closed:
            return
        if self.connecting:
            try:
                self.tcp.sock.connect(self._target)
            except KernelError as e:
                if e.errno in (errno.EAGAIN, errno.EALREADY, errno.EINPROGRESS):
                    return
                if e.errno != errno.EISCONN:
                    self.connecting = False
                    self._fail(os.strerror(e.errno))
                    return
            self.connecting = False
            self.sink.opened()
        self.tcp.flush()
        if self.sink is None:
            return
        while not self.paused and not self.closed:
            data = self.tcp.recv()
            if not data:
                break
            self.sink.data(data)
        if self.tcp.eof and not self.eof_sent and not self.closed:
            self.eof_sent = True
            self.sink.eof()
        if self.tcp.failed or (self.tcp.eof and self.tcp.shut_wr and not self.tcp.pending):
            self._gone()

    def _fail(self, message):
        sink = self.sink
        self.close()
        sink.open_failed(message)

    def _gone(self):
        sink = self.sink
        self.close()
        if sink is not None:
            sink.closed()

    # Stream
    def attach(self, sink):
        self.sink = sink
        self.soon.kick()

    def write(self, data):
        if not self.closed:
            self.tcp.send(data)

    def write_eof(self):
        if not self.closed:
            self.tcp.write_eof()
            self.soon.kick()

    def close(self):
        if not self.closed:
            self.closed = True
            self.sink = None
            self.soon.cancel()
            self.tcp.close()

    def set_paused(self, paused):
        self.paused = paused
        if not paused:
            self.soon.kick()


def connect(kernel, host, port, sink):
    """direct-tcpip: a KernelStream connecting to host:port."""
    target = (_address(host), port)
    return KernelStream(kernel, tcp_socket(kernel), sink, target=target)


class KernelListener:
    """tcpip-forward: a listening kernel socket; each accepted connection
    goes to the acceptor as a KernelStream."""

    def __init__(self, kernel, address, port, acceptor):
        self.kernel = kernel
        self.acceptor = acceptor
        self.sock = tcp_socket(kernel)
        try:
            self.sock.bind((_address(address), port))
            self.sock.listen(64)
        except KernelError as e:
            self.sock.close()
            raise OSError(e.errno, os.strerror(e.errno)) from None
        self.port = self.sock.getsockname()[1]
        self.soon = Soon(kernel, self._accept)
        self.sock.listeners.append(self.soon.kick)

    def _accept(self):
        while self.sock is not None:
            try:
                child = self.sock.accept(F.O_NONBLOCK)
            except KernelError:
                return
            stream = KernelStream(self.kernel, child)
            host, port = stream.tcp.peer()
            self.acceptor(stream, host, port)

    def close(self):
        if self.sock is not None:
            self.soon.cancel()
            self.sock.listeners.clear()
            self.sock.close()
            self.sock = None
