"""TCP forwarding (RFC 4254 §7): direct-tcpip channels (ssh -L) and
tcpip-forward listeners whose connections open forwarded-tcpip channels
(ssh -R)."""
import logging

from . import messages as msg
from . import wire
from .backend import BackendError
from .channels import MAX_PACKET, WINDOW, Channel

log = logging.getLogger("akuma.ssh")


class _StreamChannel(Channel):
    """A channel joined to a backend TCP stream (the stream's StreamSink)."""

    stream = None

    def received(self, data):
        self._stream_call("write", data)

    def received_eof(self):
        self._stream_call("write_eof")

    def pause_producer(self, paused):
        self._stream_call("set_paused", paused)

    def released(self):
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.close()
            except (OSError, BackendError) as e:
                log.info("ssh %s: closing forwarded stream: %s", self.conn.peer, e)

    def _stream_call(self, method, *args):
        if self.stream is None:
            return
        try:
            getattr(self.stream, method)(*args)
        except (OSError, BackendError) as e:
            log.info("ssh %s: forwarded stream %s failed: %s", self.conn.peer, method, e)
            self.finish()

    # StreamSink
    def data(self, data):
        self.conn.call(self.send_data, data)

    def eof(self):
        self.conn.call(self.finish, (), False)

    def closed(self):
        self.conn.call(self.finish)


class DirectTcpipChannel(_StreamChannel):
    kind = "direct-tcpip"

    def start(self, r):
        host, port, originator, originator_port = r.text(), r.u32(), r.text(), r.u32()
        self.target = f"{host}:{port}"
        try:
            self.stream = self.conn.backend.open_direct_tcpip(
                self.conn.user, host, port, originator, originator_port, self)
        except (OSError, BackendError) as e:
            self._failed(str(e), msg.OPEN_ADMINISTRATIVELY_PROHIBITED)

    def opened(self):
        self.conn.call(self._opened)

    def _opened(self):
        if self.local_id in self.conn.channels.channels and not self.open:
            log.info("ssh %s: direct-tcpip to %s for %s", self.conn.peer, self.target, self.conn.user.name)
            self.conn.channels.confirm(self)

    def open_failed(self, message):
        self.conn.call(self._failed, message, msg.OPEN_CONNECT_FAILED)

    def _failed(self, message, reason):
        if self.open or self.local_id not in self.conn.channels.channels:
            return
        log.info("ssh %s: direct-tcpip to %s failed: %s", self.conn.peer, self.target, message)
        self.conn.channels.open_failure(self.remote_id, reason, message)
        self.stream = None
        self.conn.channels.release(self)


class ForwardedTcpipChannel(_StreamChannel):
    """Opened by us when a tcpip-forward listener accepts a connection."""
    kind = "forwarded-tcpip"

    def __init__(self, conn, local_id, stream):
        super().__init__(conn, local_id)
        self.stream = stream

    def on_open_confirmed(self, r):
        if self.open:
            return super().on_open_confirmed(r)
        self.remote_id, self.remote_window, max_packet = r.u32(), r.u32(), r.u32()
        self.remote_max_packet = max(1, min(max_packet, MAX_PACKET * 8))
        self.open = True
        try:
            self.stream.attach(self)
        except (OSError, BackendError) as e:
            log.info("ssh %s: forwarded connection lost: %s", self.conn.peer, e)
            self.finish()
        self.flush()

    def on_open_failed(self, r):
        if self.open:
            return super().on_open_failed(r)
        self.conn.channels.release(self)


def start_forward(conn, address, port):
    """tcpip-forward: listen; the reply payload (bound port if 0 was asked)."""
    listeners = conn.channels.listeners
    if port > 65535 or (address, port) in listeners:
        return None
    bound = {"port": port}

    def accept(stream, originator, originator_port):
        if conn.closed:
            stream.close()
            return
        conn.call(_accept, conn, address, bound["port"], stream, originator, originator_port)
    try:
        listener, bound["port"] = conn.backend.listen_tcpip(conn.user, address, port, accept)
    except (OSError, BackendError) as e:
        log.info("ssh %s: tcpip-forward %s:%d refused: %s", conn.peer, address, port, e)
        return None
    listeners[(address, bound["port"])] = listener
    log.info("ssh %s: tcpip-forward %s:%d for %s", conn.peer, address, bound["port"], conn.user.name)
    return wire.u32(bound["port"]) if port == 0 else b""


def cancel_forward(conn, address, port):
    listener = conn.channels.listeners.pop((address, port), None)
    if listener is None:
        return None
    listener.close()
    return b""


def _accept(conn, address, port, stream, originator, originator_port):
    if conn.closed:
        stream.close()
        return
    local_id = conn.channels.allocate_id()
    if local_id is None:
        stream.close()
        return
    channel = ForwardedTcpipChannel(conn, local_id, stream)
    conn.channels.add(channel)
    conn.send(wire.byte(msg.CHANNEL_OPEN) + wire.string("forwarded-tcpip") + wire.u32(local_id)
              + wire.u32(WINDOW) + wire.u32(MAX_PACKET) + wire.string(address) + wire.u32(port)
              + wire.string(originator) + wire.u32(originator_port))
