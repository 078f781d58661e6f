"""One SSH-2 server connection, sans-I/O.

The driver (host adapter, or the kernel's TCP socket) feeds received bytes to
``receive_data``, writes out what ``data_to_send`` returns, calls ``tick``
when ``next_deadline`` (a time on the injected clock) passes, and closes the
socket once ``closed`` is true and the output is flushed.  Output that arises
outside those calls (a process printed something) is announced through the
``on_output`` callback.  No exception ever leaves this object: protocol
violations become SSH_MSG_DISCONNECT with the matching reason and a log line;
bugs are logged with a traceback and end only this connection.
"""
import logging
import time

from . import kex
from . import messages as msg
from . import wire
from .auth import UserAuth
from .channels import ChannelManager
from .errors import (BY_APPLICATION, CONNECTION_LOST,
                     PROTOCOL_VERSION_NOT_SUPPORTED, REASON_NAMES, SERVICE_NOT_AVAILABLE,
                     DisconnectError, protocol_error)
from .packet import Decoder, Encoder

log = logging.getLogger("akuma.ssh")

MAX_VERSION_LINE = 255
# Before the first NEWKEYS these are the only messages a strict-KEX peer may send.
_KEX_MESSAGES = frozenset((msg.KEXINIT, msg.KEX_ECDH_INIT, msg.NEWKEYS))
_TRANSPORT_GENERIC = frozenset((msg.DISCONNECT, msg.IGNORE, msg.UNIMPLEMENTED, msg.DEBUG))


class ServerConnection:
    def __init__(self, config, backend, clock=time.monotonic, peer="?"):
        self.config = config
        self.backend = backend
        self.clock = clock
        self.peer = peer
        self.on_output = None          # driver callback: output became available
        self.closed = False
        self.close_reason = None       # (reason code, description, sent by peer)
        self.user = None               # UserInfo once authenticated
        self.session_id = None
        self.client_version = None
        self._out = bytearray()
        self._version_buf = bytearray()
        self._encoder = Encoder()
        self._decoder = Decoder()
        self._started = clock()
        self._last_kex = self._started
        self._last_received = self._started
        self._keepalives_outstanding = 0
        self._in_dispatch = False
        # Key exchange state.
        self._strict = False
        self._ext_info = False
        self._our_kexinit = None       # set while our KEXINIT is outstanding
        self._peer_kexinit = None
        self._negotiated = None
        self._pending_incoming_keys = None
        self._ignore_next_kex_packet = False
        self._held = []                # non-KEX packets queued during a key exchange
        self._service_accepted = False
        self._auth = UserAuth(self)
        self.channels = ChannelManager(self)
        self._out += (config.server_version + "\r\n").encode()
        self._guarded(self._send_kexinit)

    # -- driver API ---------------------------------------------------------
    def receive_data(self, data):
        self._guarded(self._receive, data)

    def receive_eof(self):
        """The peer closed the TCP connection."""
        if not self.closed:
            log.info("ssh %s: connection closed by peer", self.peer)
            self._finish(CONNECTION_LOST, "connection closed by peer", by_peer=True)

    def connection_lost(self):
        """The transport failed; release everything without sending."""
        self.receive_eof()

    def data_to_send(self):
        out = bytes(self._out)
        self._out.clear()
        return out

    def tick(self):
        self._guarded(self._check_timers)

    def next_deadline(self):
        """Clock time at which ``tick`` must next be called (None: never)."""
        if self.closed:
            return None
        deadlines = []
        if self.user is None:
            deadlines.append(self._started + self.config.login_grace_seconds)
        elif self.config.rekey_seconds:
            deadlines.append(self._last_kex + self.config.rekey_seconds)
        if self.config.keepalive_interval and self.session_id is not None:
            deadlines.append(self._last_received + self.config.keepalive_interval
                             * (self._keepalives_outstanding + 1))
        return min(deadlines) if deadlines else None

    def disconnect(self, reason=BY_APPLICATION, description="server shutting down"):
        self._guarded(self._disconnect, reason, description)

    # -- internal entry guard -------------------------------------------------
    def _guarded(self, fn, *args):
        """Run an entry point: a DisconnectError ends the connection with its
        reason; any other exception is a bug, logged, and ends it too."""
        if self.closed:
            return
        outer = self._in_dispatch
        self._in_dispatch = True
        try:
            fn(*args)
        except DisconnectError as e:
            self._disconnect(e.reason, e.description)
        except Exception:
            log.exception("ssh %s: internal error", self.peer)
            self._disconnect(BY_APPLICATION, "internal error")
        finally:
            self._in_dispatch = outer
        if not outer and self._out and self.on_output is not None:
            self.on_output()

    def call(self, fn, *args):
        """For backend callbacks (sinks): run ``fn`` under the entry guard."""
        self._guarded(fn, *args)

    # -- receive path -------------------------------------------------------
    def _receive(self, data):
        if self.client_version is None:
            data = self._version_exchange(data)
            if data is None:
                return
        self._decoder.feed(data)
        while not self.closed:
            payload = self._decoder.next_packet()
            if payload is None:
                break
            self._dispatch(payload)
        self._maybe_rekey()

    def _version_exchange(self, data):
        self._version_buf += data
        end = self._version_buf.find(b"\n")
        if end < 0:
            if len(self._version_buf) > MAX_VERSION_LINE:
                raise DisconnectError(PROTOCOL_VERSION_NOT_SUPPORTED, "identification string too long")
            return None
        line = bytes(self._version_buf[:end]).rstrip(b"\r")
        rest = bytes(self._version_buf[end + 1:])
        self._version_buf = None
        if len(line) > MAX_VERSION_LINE or not (line.startswith(b"SSH-2.0-") or line.startswith(b"SSH-1.99-")):
            raise DisconnectError(PROTOCOL_VERSION_NOT_SUPPORTED,
                                  f"bad identification string {line[:64]!r}")
        try:
            self.client_version = line.decode("ascii")
        except UnicodeDecodeError:
            raise DisconnectError(PROTOCOL_VERSION_NOT_SUPPORTED, "identification string is not ASCII") from None
        return rest

    def _dispatch(self, payload):
        if not payload:
            raise protocol_error("empty packet")
        kind = payload[0]
        self._last_received = self.clock()
        self._keepalives_outstanding = 0
        if self._strict and self.session_id is None and kind not in _KEX_MESSAGES:
            raise protocol_error(f"strict KEX violation: message {kind} during initial key exchange")
        if kind in _TRANSPORT_GENERIC:
            return self._transport_generic(kind, payload)
        if kind == msg.KEXINIT:
            return self._on_kexinit(payload)
        if 30 <= kind <= 49 or kind == msg.NEWKEYS:
            if self._ignore_next_kex_packet:
                self._ignore_next_kex_packet = False
                return None
            if kind == msg.KEX_ECDH_INIT:
                return self._on_ecdh_init(payload)
            if kind == msg.NEWKEYS:
                return self._on_newkeys()
            raise protocol_error(f"unexpected key exchange message {kind}")
        if self._peer_kexinit is not None or self.session_id is None:
            raise protocol_error(f"message {kind} during key exchange")
        if kind == msg.SERVICE_REQUEST:
            return self._on_service_request(payload)
        if 50 <= kind <= 79:
            if not self._service_accepted:
                raise protocol_error("authentication before service request")
            if self.user is not None:
                return None        # RFC 4252 §5.1: ignore requests after success
            if kind != msg.USERAUTH_REQUEST:
                raise protocol_error(f"unexpected authentication message {kind}")
            user = self._auth.handle(payload)
            if user is not None:
                self.user = user
            return None
        if self.user is None:
            raise protocol_error(f"message {kind} before authentication")
        if 80 <= kind <= 127:
            return self.channels.dispatch(kind, payload)
        self.send(wire.byte(msg.UNIMPLEMENTED) + wire.u32((self._decoder.seq - 1) & 0xffffffff))
        return None

    def _transport_generic(self, kind, payload):
        if kind == msg.DISCONNECT:
            r = wire.Reader(payload, 1)
            reason, description = r.u32(), r.text()
            log.info("ssh %s: client disconnected: %s (%s)", self.peer, description,
                     REASON_NAMES.get(reason, reason))
            self._finish(reason, description, by_peer=True)

    def _on_service_request(self, payload):
        service = wire.Reader(payload, 1).text()
        if service != "ssh-userauth" or self._service_accepted:
            raise DisconnectError(SERVICE_NOT_AVAILABLE, f"service {service!r} not available")
        self._service_accepted = True
        self.send(wire.byte(msg.SERVICE_ACCEPT) + wire.string(service))

    # -- key exchange -------------------------------------------------------
    def _send_kexinit(self):
        first = self.session_id is None
        cfg = self.config
        self._our_kexinit = kex.build_kexinit(cfg.kex_algorithms, (cfg.host_key.algorithm,),
                                              cfg.ciphers, cfg.macs, first=first)
        self._send_now(self._our_kexinit)

    def _on_kexinit(self, payload):
        if self._peer_kexinit is not None:
            raise protocol_error("KEXINIT during key exchange")
        client = kex.KexInit.parse(payload)
        if self.session_id is None:
            self._strict = kex.STRICT_CLIENT in client.kex
            self._ext_info = kex.EXT_INFO_CLIENT in client.kex
            if self._strict and self._decoder.seq != 1:
                raise protocol_error("strict KEX violation: KEXINIT was not the first packet")
        self._peer_kexinit = payload
        if self._our_kexinit is None:
            self._send_kexinit()
        cfg = self.config
        self._negotiated = kex.negotiate(client, cfg.kex_algorithms, (cfg.host_key.algorithm,),
                                         cfg.ciphers, cfg.macs)
        self._ignore_next_kex_packet = client.first_kex_follows and not self._negotiated.guess_was_right

    def _on_ecdh_init(self, payload):
        if self._negotiated is None or self._pending_incoming_keys is not None:
            raise protocol_error("KEX_ECDH_INIT out of order")
        r = wire.Reader(payload, 1)
        q_c = r.string()
        q_s, shared = kex.x25519_exchange(q_c)
        host_key = self.config.host_key
        k_s = host_key.public_blob()
        h = kex.exchange_hash(self.client_version.encode(), self.config.server_version.encode(),
                              self._peer_kexinit, self._our_kexinit, k_s, q_c, q_s, shared)
        first = self.session_id is None
        if first:
            self.session_id = h
        self._send_now(wire.byte(msg.KEX_ECDH_REPLY) + wire.string(k_s) + wire.string(q_s)
                       + wire.string(host_key.sign(h)))
        self._send_now(wire.byte(msg.NEWKEYS))
        n = self._negotiated
        iv, key, mac_key = kex.derive_direction(shared, h, self.session_id, n.cipher_s2c, n.mac_s2c, b"BDF")
        self._encoder.set_keys(n.cipher_s2c, key, iv, n.mac_s2c, mac_key)
        if self._strict:
            self._encoder.reset_sequence()
        self._pending_incoming_keys = kex.derive_direction(shared, h, self.session_id,
                                                           n.cipher_c2s, n.mac_c2s, b"ACE")
        self._our_kexinit = None
        if first and self._ext_info:
            algs = ",".join(self.config.pubkey_algorithms)
            self._send_now(wire.byte(msg.EXT_INFO) + wire.u32(1) + wire.string("server-sig-algs")
                           + wire.string(algs))
        held, self._held = self._held, []
        for payload in held:
            self._send_now(payload)

    def _on_newkeys(self):
        if self._pending_incoming_keys is None:
            raise protocol_error("NEWKEYS before key exchange reply")
        n = self._negotiated
        iv, key, mac_key = self._pending_incoming_keys
        self._decoder.set_keys(n.cipher_c2s, key, iv, n.mac_c2s, mac_key)
        if self._strict:
            self._decoder.reset_sequence()
        log.debug("ssh %s: keys in use: %s %s / %s %s", self.peer, n.cipher_c2s, n.mac_c2s,
                  n.cipher_s2c, n.mac_s2c)
        self._pending_incoming_keys = None
        self._peer_kexinit = None
        self._negotiated = None
        self._last_kex = self.clock()

    def _maybe_rekey(self):
        if self.closed or self.session_id is None or self._our_kexinit is not None \
                or self._peer_kexinit is not None:
            return
        traffic = self._encoder.byte_count + self._decoder.byte_count
        if traffic >= self.config.rekey_bytes or (
                self.config.rekey_seconds and self.clock() - self._last_kex >= self.config.rekey_seconds):
            log.debug("ssh %s: rekeying after %d bytes", self.peer, traffic)
            self._send_kexinit()

    # -- timers ---------------------------------------------------------------
    def _check_timers(self):
        now = self.clock()
        if self.user is None and now - self._started >= self.config.login_grace_seconds:
            raise DisconnectError(BY_APPLICATION, "login grace time exceeded")
        if self.config.keepalive_interval and self.session_id is not None:
            if now - self._last_received >= self.config.keepalive_interval * (self._keepalives_outstanding + 1):
                if self._keepalives_outstanding >= self.config.keepalive_count_max:
                    raise DisconnectError(CONNECTION_LOST, "client not responding to keepalives")
                self._keepalives_outstanding += 1
                self.send(wire.byte(msg.GLOBAL_REQUEST) + wire.string("keepalive@openssh.com")
                          + wire.boolean(True))
        self._maybe_rekey()

    # -- send path ------------------------------------------------------------
    def send(self, payload):
        """Queue a message; during our key exchange non-KEX messages wait."""
        if self.closed:
            return
        if self._our_kexinit is not None and payload[0] not in _TRANSPORT_GENERIC:
            self._held.append(payload)
            return
        self._send_now(payload)

    def _send_now(self, payload):
        self._out += self._encoder.encode(payload)

    def wake(self):
        """Called by channels when output was queued from a backend callback."""
        if not self._in_dispatch and self._out and self.on_output is not None:
            self.on_output()

    # -- ending -----------------------------------------------------------------
    def _disconnect(self, reason, description):
        if self.closed:
            return
        log.warning("ssh %s: disconnecting: %s (%s)", self.peer, description,
                    REASON_NAMES.get(reason, reason))
        try:
            self._send_now(wire.byte(msg.DISCONNECT) + wire.u32(reason) + wire.string(description)
                           + wire.string(""))
        except Exception:
            log.exception("ssh %s: could not encode DISCONNECT", self.peer)
        self._finish(reason, description, by_peer=False)

    def _finish(self, reason, description, by_peer):
        self.closed = True
        self.close_reason = (reason, description, by_peer)
        self.channels.abort_all()
