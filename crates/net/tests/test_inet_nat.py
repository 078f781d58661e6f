"""The user-mode NAT with real host sockets on 127.0.0.1 only."""
import socket
import threading
import time

import pytest

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi.errors import EAGAIN, EINPROGRESS, ECONNREFUSED
from akuma.net.forward import parse_spec
from akuma.net.nat import Nat
from inet_env import Env, recv, send


class RealClock(Env):
    def __init__(self):
        super().__init__()
        self.stack.clock = time.monotonic
        self.stack.arp.clock = time.monotonic
        self.nat = Nat(self.stack)

    def pump(self, until, seconds=5):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.nat.poll()
            self.stack.run_timers()
            if until():
                return True
            time.sleep(0.001)
        return False


def _try(fn, *a):
    try:
        return fn(*a)
    except KernelError as e:
        assert e.errno == EAGAIN
        return None


def test_guest_reaches_host_server_through_gateway():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve():
        c, _ = srv.accept()
        data = b""
        while not data.endswith(b"\n"):
            data += c.recv(100)
        c.sendall(data.upper())
        c.close()
    th = threading.Thread(target=serve)
    th.start()
    env = RealClock()
    s = env.sock(1, flags=F.O_NONBLOCK)
    with pytest.raises(KernelError) as e:
        s.connect(("10.0.2.2", port))
    assert e.value.errno == EINPROGRESS
    assert env.pump(lambda: s.poll_ready()[1])
    send(s, b"hello host\n")
    got = bytearray()
    assert env.pump(lambda: (got.extend((_try(recv, s, 100) or (b"",))[0]), got == b"HELLO HOST\n")[1])
    assert env.pump(lambda: _try(recv, s, 100) == (b"", None) or s.tcb.fin_received)
    th.join()
    srv.close()


def test_connection_to_closed_host_port_is_refused():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    env = RealClock()
    s = env.sock(1, flags=F.O_NONBLOCK)
    with pytest.raises(KernelError):
        s.connect(("10.0.2.2", port))
    assert env.pump(lambda: s.tcb.state == "CLOSED")
    assert s.take_error() == ECONNREFUSED


def test_port_forward_reaches_guest_server():
    env = RealClock()
    srv = env.sock(1)
    srv.bind(("0.0.0.0", 80))
    srv.listen(4)
    hport = env.nat.add_forward("127.0.0.1", 0, 80)
    c = socket.create_connection(("127.0.0.1", hport))
    c.setblocking(False)
    conn = []
    assert env.pump(lambda: conn.append(_try(srv.accept, 0)) or conn[-1] is not None)
    g = conn[-1]
    c.sendall(b"GET /\n")
    got = bytearray()
    assert env.pump(lambda: (got.extend((_try(recv, g, 100) or (b"",))[0]), got == b"GET /\n")[1])
    send(g, b"200 OK\n")
    g.close()
    reply = bytearray()

    def host_read():
        try:
            d = c.recv(100)
        except BlockingIOError:
            return False
        reply.extend(d)
        return d == b""
    assert env.pump(host_read)
    assert reply == b"200 OK\n"
    c.close()


def test_forward_spec_parsing():
    assert parse_spec("2222:22") == ("127.0.0.1", 2222, 22, "tcp")
    assert parse_spec("0.0.0.0:8080:80") == ("0.0.0.0", 8080, 80, "tcp")
    assert parse_spec("53:53/udp") == ("127.0.0.1", 53, 53, "udp")
    with pytest.raises(KernelError):
        parse_spec("nonsense")
