"""The connection object driven in memory: hostile input gets the right
DISCONNECT reason, limits and timers work on an injected clock, and channel
ordering follows RFC 4254."""
import logging

import pytest

from akuma.ssh import errors, wire
from akuma.ssh import messages as msg
from akuma.ssh.keys import HostKey

from ssh_miniclient import CLIENT_VERSION, MiniClient, make_server


def connected(**config):
    conn, backend, clock, key = make_server(**config)
    client = MiniClient(conn)
    client.handshake()
    return conn, backend, clock, key, client


def reason_of(conn):
    assert conn.closed
    return conn.close_reason[0]


def test_bad_identification_string(caplog):
    conn, *_ = make_server()
    conn.receive_data(b"GET / HTTP/1.1\r\n")
    assert reason_of(conn) == errors.PROTOCOL_VERSION_NOT_SUPPORTED
    assert b"bad identification" in conn.data_to_send()


def test_oversize_packet_length_before_keys():
    conn, *_ = make_server()
    conn.receive_data(CLIENT_VERSION + b"\r\n" + wire.u32(10_000_000) + bytes(16))
    assert reason_of(conn) == errors.PROTOCOL_ERROR


def test_unknown_message_before_auth_in_strict_kex():
    conn, *_ = make_server()
    client = MiniClient(conn)
    conn.receive_data(CLIENT_VERSION + b"\r\n")
    client.pump()
    client.send(wire.byte(msg.CHANNEL_OPEN) + wire.string("session"))
    assert reason_of(conn) == errors.PROTOCOL_ERROR


def test_connection_message_before_auth_is_a_protocol_error():
    conn, *_, client = connected()
    client.send(wire.byte(msg.CHANNEL_OPEN) + wire.string("session") + wire.u32(0) * 3)
    assert reason_of(conn) == errors.PROTOCOL_ERROR
    assert client.disconnect[0] == errors.PROTOCOL_ERROR


@pytest.mark.parametrize("cipher,mac", [("aes128-ctr", "hmac-sha2-256"), ("aes256-ctr", "hmac-sha2-512-etm@openssh.com"),
                                        ("aes128-gcm@openssh.com", "<implicit>"),
                                        ("chacha20-poly1305@openssh.com", "<implicit>")])
def test_bad_mac_disconnects_with_mac_error(cipher, mac, caplog):
    conn, backend, clock, key = make_server()
    client = MiniClient(conn, cipher=cipher, mac=mac)
    client.handshake()
    packet = bytearray(client.enc.encode(wire.byte(msg.SERVICE_REQUEST) + wire.string("ssh-userauth")))
    packet[-1] ^= 1
    with caplog.at_level(logging.INFO, logger="akuma.ssh"):
        conn.receive_data(bytes(packet))
    assert reason_of(conn) == errors.MAC_ERROR
    client.pump()
    assert client.disconnect[0] == errors.MAC_ERROR
    assert "corrupted MAC" in caplog.text


def test_login_grace_time():
    conn, backend, clock, key = make_server(login_grace_seconds=30)
    conn.receive_data(CLIENT_VERSION[:5])       # a slow handshake
    assert conn.next_deadline() == clock.now + 30
    clock.now += 31
    conn.tick()
    assert reason_of(conn) == errors.BY_APPLICATION


def test_auth_attempt_limit_and_none_method():
    conn, backend, clock, key, client = connected(max_auth_tries=3)
    client.send(wire.byte(msg.SERVICE_REQUEST) + wire.string("ssh-userauth"))
    client.take(msg.SERVICE_ACCEPT)
    client.send(wire.byte(msg.USERAUTH_REQUEST) + wire.string("user") + wire.string("ssh-connection")
                + wire.string("none"))
    r = wire.Reader(client.take(msg.USERAUTH_FAILURE), 1)
    assert r.name_list() == ["publickey"]
    wrong = HostKey.generate()
    for _ in range(3):
        client.send(wire.byte(msg.USERAUTH_REQUEST) + wire.string("user") + wire.string("ssh-connection")
                    + wire.string("publickey") + wire.boolean(False) + wire.string("ssh-ed25519")
                    + wire.string(wrong.public_blob()))
    assert reason_of(conn) == errors.NO_MORE_AUTH_METHODS_AVAILABLE


def test_publickey_query_gets_pk_ok_then_signature_authenticates():
    conn, backend, clock, key, client = connected()
    client.send(wire.byte(msg.SERVICE_REQUEST) + wire.string("ssh-userauth"))
    client.send(wire.byte(msg.USERAUTH_REQUEST) + wire.string("user") + wire.string("ssh-connection")
                + wire.string("publickey") + wire.boolean(False) + wire.string("ssh-ed25519")
                + wire.string(key.public_blob()))
    client.take(msg.USERAUTH_PK_OK)
    client.received.clear()
    client.authenticate(key, request_service=False)
    assert conn.user.name == "user"


def test_password_auth_only_when_enabled():
    for enabled in (False, True):
        conn, backend, clock, key, client = connected(password_auth=enabled)
        client.send(wire.byte(msg.SERVICE_REQUEST) + wire.string("ssh-userauth"))
        client.send(wire.byte(msg.USERAUTH_REQUEST) + wire.string("user") + wire.string("ssh-connection")
                    + wire.string("password") + wire.boolean(False) + wire.string("secret"))
        kinds = [p[0] for p in client.received]
        assert (msg.USERAUTH_SUCCESS in kinds) == enabled


def test_keepalive_global_request_fails_and_unknown_message_is_unimplemented():
    conn, backend, clock, key, client = connected()
    client.authenticate(key)
    client.send(wire.byte(msg.GLOBAL_REQUEST) + wire.string("keepalive@openssh.com") + wire.boolean(True))
    client.take(msg.REQUEST_FAILURE)
    client.send(wire.byte(200) + b"junk")
    client.take(msg.UNIMPLEMENTED)
    assert not conn.closed


def test_server_keepalive_and_timeout():
    conn, backend, clock, key, client = connected(keepalive_interval=10, keepalive_count_max=2)
    client.authenticate(key)
    for _ in range(2):
        clock.now += 10
        conn.tick()
        client.pump()
        r = wire.Reader(client.take(msg.GLOBAL_REQUEST), 1)
        assert r.text() == "keepalive@openssh.com" and r.boolean()
    clock.now += 10
    conn.tick()
    assert reason_of(conn) == errors.CONNECTION_LOST


def test_rekey_by_time_is_started_by_the_server():
    conn, backend, clock, key, client = connected(rekey_seconds=60)
    client.authenticate(key)
    clock.now += 61
    conn.tick()
    client.pump()
    client.take(msg.KEXINIT)
    assert not conn.closed


def test_session_order_exit_status_then_close():
    conn, backend, clock, key, client = connected()
    client.authenticate(key)
    channel = client.open_session(window=10)
    client.channel_request(channel, "env", wire.string("LANG") + wire.string("C.UTF-8"))
    client.channel_request(channel, "pty-req", wire.string("xterm") + wire.u32(80) + wire.u32(24)
                           + wire.u32(0) * 2 + wire.string(wire.byte(53) + wire.u32(0) + b"\0"))
    client.channel_request(channel, "exec", wire.string("true"))
    process = backend.sessions[0]
    assert process.request.env == {"LANG": "C.UTF-8"} and process.request.pty.modes == {53: 0}
    client.channel_request(channel, "window-change", wire.u32(100) + wire.u32(30) + wire.u32(0) * 2)
    client.channel_request(channel, "signal", wire.string("INT"), want_reply=False)
    assert process.sizes == [(100, 30, 0, 0)] and process.signals == ["INT"]
    client.send(wire.byte(msg.CHANNEL_DATA) + wire.u32(channel) + wire.string(b"input"))
    client.send(wire.byte(msg.CHANNEL_EOF) + wire.u32(channel))
    assert process.stdin == [b"input"] and process.stdin_closed
    client.received.clear()
    process.sink.stdout(b"0123456789abcdef")          # more than the 10-byte window
    process.sink.exited(status=3)
    client.pump()
    kinds = [p[0] for p in client.received]
    assert kinds == [msg.CHANNEL_DATA]                # the rest waits for window
    client.send(wire.byte(msg.CHANNEL_WINDOW_ADJUST) + wire.u32(channel) + wire.u32(100))
    kinds = [p[0] for p in client.received]
    assert kinds == [msg.CHANNEL_DATA, msg.CHANNEL_DATA, msg.CHANNEL_EOF, msg.CHANNEL_REQUEST,
                     msg.CHANNEL_CLOSE]
    r = wire.Reader(client.received[3], 5)
    assert r.text() == "exit-status" and not r.boolean() and r.u32() == 3
    client.send(wire.byte(msg.CHANNEL_CLOSE) + wire.u32(channel))
    assert conn.channels.channels == {}


def test_data_beyond_window_is_a_protocol_error():
    conn, backend, clock, key, client = connected()
    client.authenticate(key)
    channel = client.open_session()
    client.channel_request(channel, "shell")
    client.send(wire.byte(msg.CHANNEL_DATA) + wire.u32(channel) + wire.string(bytes(40000)))
    assert reason_of(conn) == errors.PROTOCOL_ERROR


def test_connection_drop_terminates_processes():
    conn, backend, clock, key, client = connected()
    client.authenticate(key)
    channel = client.open_session()
    client.channel_request(channel, "shell")
    conn.receive_eof()
    assert backend.sessions[0].terminated
