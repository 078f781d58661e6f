"""The connection protocol (RFC 4254): channel bookkeeping, flow control,
EOF/CLOSE ordering, and global requests.  Channel kinds live in session.py
and forwarding.py."""
import logging
from collections import deque

from . import messages as msg
from . import wire
from .errors import protocol_error

log = logging.getLogger("akuma.ssh")

WINDOW = 2 * 1024 * 1024       # what we let the client send before it waits
MAX_PACKET = 32768              # largest data chunk we accept
PAUSE_ABOVE = 1024 * 1024       # queued output that pauses the producer
RESUME_BELOW = 256 * 1024


class Channel:
    """One channel: windows both ways, queued output, and the end sequence."""

    kind = "channel"

    def __init__(self, conn, local_id):
        self.conn = conn
        self.local_id = local_id
        self.remote_id = None
        self.remote_window = 0
        self.remote_max_packet = 0
        self.local_window = WINDOW
        self.open = False              # confirmed by both sides
        self._pending = deque()        # (data type code or None, bytes)
        self._pending_bytes = 0
        self._paused = False
        self._final_requests = []      # sent after the output, before CLOSE
        self._want_eof = False
        self._want_close = False
        self.eof_sent = self.eof_received = False
        self.close_sent = self.close_received = False

    # -- to subclass ----------------------------------------------------------
    def received(self, data):
        """Client data."""

    def received_eof(self):
        """Client EOF."""

    def request(self, name, want_reply, r):
        """A channel request; return True for success."""
        return False

    def pause_producer(self, paused):
        """Stop/resume whatever produces this channel's output."""

    def released(self):
        """The channel is gone (closed both ways or the connection ended)."""

    def on_open_confirmed(self, r):
        raise protocol_error(f"channel {self.local_id}: unexpected open confirmation")

    def on_open_failed(self, r):
        raise protocol_error(f"channel {self.local_id}: unexpected open failure")

    # -- output ---------------------------------------------------------------
    def send_data(self, data, ext=None):
        if not data or self._want_eof or self.close_sent:
            return
        self._pending.append((ext, bytes(data)))
        self._pending_bytes += len(data)
        self.flush()

    def finish(self, final_requests=(), close=True):
        """After the queued output: EOF, ``final_requests`` (e.g. exit-status),
        then CLOSE when ``close``."""
        self._want_eof = True
        self._final_requests.extend(final_requests)
        self._want_close = self._want_close or close
        self.flush()

    def flush(self):
        if not self.open or self.close_sent:
            return
        send = self.conn.send
        header_data = wire.byte(msg.CHANNEL_DATA) + wire.u32(self.remote_id)
        while self._pending and self.remote_window > 0:
            ext, data = self._pending[0]
            n = min(len(data), self.remote_window, self.remote_max_packet)
            chunk = data[:n]
            if n < len(data):
                self._pending[0] = (ext, data[n:])
            else:
                self._pending.popleft()
            self._pending_bytes -= n
            self.remote_window -= n
            if ext is None:
                send(header_data + wire.string(chunk))
            else:
                send(wire.byte(msg.CHANNEL_EXTENDED_DATA) + wire.u32(self.remote_id)
                     + wire.u32(ext) + wire.string(chunk))
        self._update_pause()
        if self._pending:
            self.conn.wake()
            return
        if self._want_eof and not self.eof_sent:
            self.eof_sent = True
            send(wire.byte(msg.CHANNEL_EOF) + wire.u32(self.remote_id))
        for name, body in self._final_requests:
            send(wire.byte(msg.CHANNEL_REQUEST) + wire.u32(self.remote_id) + wire.string(name)
                 + wire.boolean(False) + body)
        self._final_requests = []
        if self._want_close:
            self._send_close()
        self.conn.wake()

    def _update_pause(self):
        if not self._paused and self._pending_bytes > PAUSE_ABOVE:
            self._paused = True
            self.pause_producer(True)
        elif self._paused and self._pending_bytes < RESUME_BELOW:
            self._paused = False
            self.pause_producer(False)

    def _send_close(self):
        if not self.close_sent:
            self.close_sent = True
            self.conn.send(wire.byte(msg.CHANNEL_CLOSE) + wire.u32(self.remote_id))
        if self.close_received:
            self.conn.channels.release(self)

    # -- input ------------------------------------------------------------------
    def on_data(self, data):
        if len(data) > self.local_window or len(data) > MAX_PACKET + 1024:
            raise protocol_error(f"channel {self.local_id}: data beyond window or packet size")
        self.local_window -= len(data)
        if self.eof_received or self.close_received:
            return
        self.received(data)
        if self.local_window < WINDOW // 2 and not self.close_sent:
            self.conn.send(wire.byte(msg.CHANNEL_WINDOW_ADJUST) + wire.u32(self.remote_id)
                           + wire.u32(WINDOW - self.local_window))
            self.local_window = WINDOW

    def on_window_adjust(self, n):
        self.remote_window = min(self.remote_window + n, 0xffffffff)
        self.flush()

    def on_eof(self):
        self.eof_received = True
        self.received_eof()

    def on_close(self):
        self.close_received = True
        self._pending.clear()
        self._pending_bytes = 0
        self._want_close = True
        self._send_close()


class ChannelManager:
    def __init__(self, conn):
        self.conn = conn
        self.channels = {}
        self._next_id = 0
        self.listeners = {}            # (address, port) -> Listener

    def allocate_id(self):
        if len(self.channels) >= self.conn.config.max_channels:
            return None
        while self._next_id in self.channels:
            self._next_id = (self._next_id + 1) & 0xffffffff
        local_id = self._next_id
        self._next_id = (self._next_id + 1) & 0xffffffff
        return local_id

    def add(self, channel):
        self.channels[channel.local_id] = channel

    def release(self, channel):
        if self.channels.pop(channel.local_id, None) is not None:
            try:
                channel.released()
            except Exception:
                log.exception("ssh %s: releasing channel %d", self.conn.peer, channel.local_id)

    def abort_all(self):
        """The connection ended: every channel and listener lets go."""
        for channel in list(self.channels.values()):
            self.release(channel)
        for listener in list(self.listeners.values()):
            try:
                listener.close()
            except Exception:
                log.exception("ssh %s: closing listener", self.conn.peer)
        self.listeners.clear()

    def _channel(self, r):
        local_id = r.u32()
        channel = self.channels.get(local_id)
        if channel is None:
            raise protocol_error(f"message for unknown channel {local_id}")
        return channel

    def dispatch(self, kind, payload):
        r = wire.Reader(payload, 1)
        if kind == msg.GLOBAL_REQUEST:
            return self._global_request(r)
        if kind in (msg.REQUEST_SUCCESS, msg.REQUEST_FAILURE):
            return None                # answers to our keepalives
        if kind == msg.CHANNEL_OPEN:
            return self._open(r)
        channel = self._channel(r)
        if kind == msg.CHANNEL_DATA:
            return channel.on_data(r.string())
        if kind == msg.CHANNEL_EXTENDED_DATA:
            r.u32()                    # stderr from a client: count it against the window, drop it
            return self._drop_extended(channel, r.string())
        if kind == msg.CHANNEL_WINDOW_ADJUST:
            return channel.on_window_adjust(r.u32())
        if kind == msg.CHANNEL_EOF:
            return channel.on_eof()
        if kind == msg.CHANNEL_CLOSE:
            return channel.on_close()
        if kind == msg.CHANNEL_REQUEST:
            return self._channel_request(channel, r)
        if kind == msg.CHANNEL_OPEN_CONFIRMATION:
            return channel.on_open_confirmed(r)
        if kind == msg.CHANNEL_OPEN_FAILURE:
            return channel.on_open_failed(r)
        if kind in (msg.CHANNEL_SUCCESS, msg.CHANNEL_FAILURE):
            return None
        self.conn.send(wire.byte(msg.UNIMPLEMENTED) + wire.u32((self.conn._decoder.seq - 1) & 0xffffffff))
        return None

    def _drop_extended(self, channel, data):
        if len(data) > channel.local_window:
            raise protocol_error("extended data beyond window")
        channel.local_window -= len(data)

    def _channel_request(self, channel, r):
        name = r.text()
        want_reply = r.boolean()
        try:
            ok = channel.request(name, want_reply, r) if not channel.close_received else False
        except OSError as e:
            log.info("ssh %s: channel %d request %s refused: %s", self.conn.peer, channel.local_id, name, e)
            ok = False
        if want_reply and not channel.close_sent:
            self.conn.send(wire.byte(msg.CHANNEL_SUCCESS if ok else msg.CHANNEL_FAILURE)
                           + wire.u32(channel.remote_id))

    def _open(self, r):
        from .forwarding import DirectTcpipChannel
        from .session import SessionChannel
        kind = r.text()
        remote_id, window, max_packet = r.u32(), r.u32(), r.u32()
        local_id = self.allocate_id()
        if local_id is None:
            return self.open_failure(remote_id, msg.OPEN_RESOURCE_SHORTAGE, "too many channels")
        if kind == "session":
            channel = SessionChannel(self.conn, local_id)
        elif kind == "direct-tcpip" and self.conn.config.allow_tcp_forwarding:
            channel = DirectTcpipChannel(self.conn, local_id)
        else:
            return self.open_failure(remote_id, msg.OPEN_UNKNOWN_CHANNEL_TYPE, f"unsupported channel type {kind}")
        if max_packet < 1:
            raise protocol_error("channel maximum packet size of zero")
        channel.remote_id = remote_id
        channel.remote_window = window
        channel.remote_max_packet = min(max_packet, MAX_PACKET * 8)
        self.add(channel)
        channel.start(r)

    def confirm(self, channel):
        """Send OPEN_CONFIRMATION for a channel the client opened."""
        channel.open = True
        self.conn.send(wire.byte(msg.CHANNEL_OPEN_CONFIRMATION) + wire.u32(channel.remote_id)
                       + wire.u32(channel.local_id) + wire.u32(channel.local_window) + wire.u32(MAX_PACKET))
        channel.flush()

    def open_failure(self, remote_id, reason, message):
        self.conn.send(wire.byte(msg.CHANNEL_OPEN_FAILURE) + wire.u32(remote_id) + wire.u32(reason)
                       + wire.string(message) + wire.string(""))

    def _global_request(self, r):
        from .forwarding import cancel_forward, start_forward
        name = r.text()
        want_reply = r.boolean()
        reply = None                   # None: failure; bytes: success payload
        if name == "tcpip-forward" and self.conn.config.allow_tcp_forwarding:
            reply = start_forward(self.conn, r.text(), r.u32())
        elif name == "cancel-tcpip-forward":
            reply = cancel_forward(self.conn, r.text(), r.u32())
        # Everything else, keepalive@openssh.com included, fails (OpenSSH expects that).
        if want_reply:
            if reply is None:
                self.conn.send(wire.byte(msg.REQUEST_FAILURE))
            else:
                self.conn.send(wire.byte(msg.REQUEST_SUCCESS) + reply)
