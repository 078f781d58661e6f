"""A minimal in-memory SSH client for driving ServerConnection directly
(no sockets): the handshake with our own kex/packet code in the client's
role, publickey auth with an ed25519 key, and raw packet access so tests can
send exactly the malformed or hostile input they want."""
import secrets

from Crypto.Protocol.DH import import_x25519_public_key, key_agreement
from Crypto.PublicKey import ECC

from akuma.ssh import kex, wire
from akuma.ssh import messages as msg
from akuma.ssh.backend import UserInfo
from akuma.ssh.config import ServerConfig
from akuma.ssh.connection import ServerConnection
from akuma.ssh.keys import HostKey
from akuma.ssh.packet import Decoder, Encoder

CLIENT_VERSION = b"SSH-2.0-MiniClient_1.0"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class RecordingBackend:
    """A test backend: one user whose key is ``client_key``; sessions are
    recorded and their processes are objects the test drives by hand."""

    def __init__(self, client_key):
        self.user = UserInfo("user", 1000, 1000, "/home/user", "/bin/sh")
        self.client_key = client_key
        self.sessions = []

    def lookup_user(self, name):
        return self.user if name == "user" else None

    def authorized_keys(self, user):
        return [self.client_key.public_blob()]

    def check_password(self, user, password):
        return password == "secret"

    def start_session(self, request, sink):
        process = RecordedProcess(request, sink)
        self.sessions.append(process)
        return process

    def sftp_filesystem(self, user):
        raise OSError(2, "no sftp in this backend")

    def open_direct_tcpip(self, *args):
        raise OSError(111, "refused")

    def listen_tcpip(self, *args):
        raise OSError(98, "in use")


class RecordedProcess:
    def __init__(self, request, sink):
        self.request, self.sink = request, sink
        self.stdin, self.stdin_closed, self.signals, self.sizes = [], False, [], []
        self.paused, self.terminated = False, False

    def write_stdin(self, data):
        self.stdin.append(data)

    def close_stdin(self):
        self.stdin_closed = True

    def resize(self, *size):
        self.sizes.append(size)

    def signal(self, name):
        self.signals.append(name)

    def set_output_paused(self, paused):
        self.paused = paused

    def terminate(self):
        self.terminated = True


def make_server(**config):
    client_key = HostKey.generate("client")
    backend = RecordingBackend(client_key)
    clock = FakeClock()
    conn = ServerConnection(ServerConfig(host_key=HostKey.generate(), **config), backend,
                            clock=clock, peer="test")
    return conn, backend, clock, client_key


class MiniClient:
    def __init__(self, conn, cipher="aes128-ctr", mac="hmac-sha2-256-etm@openssh.com", strict=True):
        self.conn = conn
        self.cipher, self.mac = cipher, mac
        self.strict = strict
        self.enc, self.dec = Encoder(), Decoder()
        self.server_version = None
        self.received = []
        self.disconnect = None   # (reason, description) if the server sent DISCONNECT

    # -- raw I/O ----------------------------------------------------------------
    def pump(self):
        data = self.conn.data_to_send()
        if self.server_version is None:
            line, _, data = data.partition(b"\r\n")
            self.server_version = line
        self.dec.feed(data)
        while True:
            payload = self.dec.next_packet()
            if payload is None:
                break
            if payload[0] == msg.DISCONNECT:
                r = wire.Reader(payload, 1)
                self.disconnect = (r.u32(), r.text())
            self.received.append(payload)
            if payload[0] == msg.NEWKEYS:
                break          # what follows needs the new keys
        return self.received

    def send(self, payload):
        self.conn.receive_data(self.enc.encode(payload))
        return self.pump()

    def take(self, kind):
        for i, payload in enumerate(self.received):
            if payload[0] == kind:
                return self.received.pop(i)
        raise AssertionError(f"no message {kind} in {[p[0] for p in self.received]}")

    # -- handshake ----------------------------------------------------------------
    def handshake(self):
        self.conn.receive_data(CLIENT_VERSION + b"\r\n")
        self.pump()
        names = ["curve25519-sha256", "ext-info-c"] + ([kex.STRICT_CLIENT] if self.strict else [])
        kexinit = (wire.byte(msg.KEXINIT) + secrets.token_bytes(16) + wire.name_list(names)
                   + wire.name_list(["ssh-ed25519"]) + wire.name_list([self.cipher]) * 2
                   + wire.name_list([self.mac]) * 2 + wire.name_list(["none"]) * 2
                   + wire.name_list([]) * 2 + wire.boolean(False) + wire.u32(0))
        self.send(kexinit)
        private = ECC.generate(curve="curve25519")
        q_c = private.public_key().export_key(format="raw")
        self.send(wire.byte(msg.KEX_ECDH_INIT) + wire.string(q_c))
        server_kexinit = self.take(msg.KEXINIT)
        r = wire.Reader(self.take(msg.KEX_ECDH_REPLY), 1)
        k_s, q_s, signature = r.string(), r.string(), r.string()
        shared = key_agreement(static_priv=private, static_pub=import_x25519_public_key(q_s),
                               kdf=lambda x: x)
        h = kex.exchange_hash(CLIENT_VERSION, self.server_version, kexinit, server_kexinit,
                              k_s, q_c, q_s, shared)
        self.session_id = h
        self.take(msg.NEWKEYS)
        mac = None if self.mac == "<implicit>" else self.mac
        iv, key, mac_key = kex.derive_direction(shared, h, h, self.cipher, mac or "", b"BDF")
        self.dec.set_keys(self.cipher, key, iv, mac, mac_key)
        if self.strict:
            self.dec.reset_sequence()
        self.pump()                            # EXT_INFO under the new keys
        self.conn.receive_data(self.enc.encode(wire.byte(msg.NEWKEYS)))
        iv, key, mac_key = kex.derive_direction(shared, h, h, self.cipher, mac or "", b"ACE")
        self.enc.set_keys(self.cipher, key, iv, mac, mac_key)
        if self.strict:
            self.enc.reset_sequence()
        return self.pump()

    def authenticate(self, key, request_service=True):
        if request_service:
            self.send(wire.byte(msg.SERVICE_REQUEST) + wire.string("ssh-userauth"))
            self.take(msg.SERVICE_ACCEPT)
        blob = key.public_blob()
        signed = (wire.string(self.session_id) + wire.byte(msg.USERAUTH_REQUEST) + wire.string("user")
                  + wire.string("ssh-connection") + wire.string("publickey") + wire.boolean(True)
                  + wire.string("ssh-ed25519") + wire.string(blob))
        self.send(wire.byte(msg.USERAUTH_REQUEST) + wire.string("user") + wire.string("ssh-connection")
                  + wire.string("publickey") + wire.boolean(True) + wire.string("ssh-ed25519")
                  + wire.string(blob) + wire.string(key.sign(signed)))
        self.take(msg.USERAUTH_SUCCESS)

    def open_session(self, window=1 << 20, max_packet=32768):
        self.send(wire.byte(msg.CHANNEL_OPEN) + wire.string("session") + wire.u32(0)
                  + wire.u32(window) + wire.u32(max_packet))
        r = wire.Reader(self.take(msg.CHANNEL_OPEN_CONFIRMATION), 1)
        assert r.u32() == 0
        return r.u32()

    def channel_request(self, channel, name, body=b"", want_reply=True):
        self.send(wire.byte(msg.CHANNEL_REQUEST) + wire.u32(channel) + wire.string(name)
                  + wire.boolean(want_reply) + body)
