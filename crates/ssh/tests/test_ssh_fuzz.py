"""Hypothesis fuzzing of the packet layer and the message parsers: hostile
bytes end at most the one connection, with a DISCONNECT reason, never with
an exception or an internal error."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from akuma.ssh import wire
from akuma.ssh.errors import DisconnectError
from akuma.ssh.kex import KexInit
from akuma.ssh.keys import parse_authorized_keys, parse_public_key
from akuma.ssh.packet import Decoder
from akuma.ssh.session import parse_terminal_modes
from akuma.ssh.sftp import SftpServer

from ssh_miniclient import CLIENT_VERSION, MiniClient, make_server

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_clean(conn):
    assert conn.close_reason is None or conn.close_reason[1] != "internal error", conn.close_reason


@FUZZ
@given(st.lists(st.binary(max_size=300), max_size=6))
def test_packet_layer_before_keys(chunks):
    conn, *_ = make_server()
    conn.receive_data(CLIENT_VERSION + b"\r\n")
    for chunk in chunks:
        conn.receive_data(chunk)
    assert_clean(conn)


@FUZZ
@given(st.binary(max_size=200), st.booleans())
def test_identification_line(data, newline):
    conn, *_ = make_server()
    conn.receive_data(data + (b"\r\n" if newline else b""))
    assert_clean(conn)


@FUZZ
@given(st.sampled_from(["aes128-ctr", "chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com"]),
       st.binary(min_size=1, max_size=400))
def test_keyed_decoder(cipher, data):
    decoder = Decoder()
    decoder.set_keys(cipher, bytes(64), bytes(16), "hmac-sha2-256", bytes(32))
    decoder.feed(data)
    try:
        while decoder.next_packet() is not None:
            pass
    except DisconnectError:
        pass


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=120)), min_size=1, max_size=8),
       st.booleans())
def test_messages_after_handshake(messages, authenticated):
    conn, backend, clock, key = make_server()
    client = MiniClient(conn)
    client.handshake()
    if authenticated:
        client.authenticate(key)
        client.open_session()
    for kind, body in messages:
        if conn.closed:
            break
        conn.receive_data(client.enc.encode(bytes((kind,)) + body))
    assert_clean(conn)


@FUZZ
@given(st.binary(max_size=600))
def test_message_parsers(data):
    for parse in (lambda d: KexInit.parse(b"\x14" + d), parse_terminal_modes):
        try:
            parse(data)
        except DisconnectError:
            pass
    assert parse_public_key(data) is None or parse_public_key(data).blob == data
    parse_authorized_keys(data)


class _NoFs:
    def __getattr__(self, name):
        def fail(*args):
            raise PermissionError(13, "denied")
        return fail


@FUZZ
@given(st.lists(st.binary(max_size=80), max_size=6))
def test_sftp_parser(packets):
    server = SftpServer(_NoFs())
    server.feed(wire.string(b"\x01" + wire.u32(3)))
    for body in packets:
        for reply in server.feed(wire.string(body) if body else b""):
            assert len(reply) >= 5
