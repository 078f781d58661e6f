"""The user-mode NAT with real host sockets on 127.0.0.1 only."""
import os
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


def test_guest_bulk_to_host_fits_eth0_mtu():
    """Full-sized guest segments carry options: they must still fit eth0's
    MTU (a fragmented segment once stalled every guest-to-host transfer)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    received = bytearray()

    def serve():
        c, _ = srv.accept()
        received.extend(b"".join(iter(lambda: c.recv(1 << 16), b"")))
        c.close()
    th = threading.Thread(target=serve)
    th.start()
    env = RealClock()
    s = env.sock(1, flags=F.O_NONBLOCK)
    with pytest.raises(KernelError):
        s.connect(("10.0.2.2", srv.getsockname()[1]))
    assert env.pump(lambda: s.poll_ready()[1])
    data = bytes((i * 31 + (i >> 8)) & 255 for i in range(1 << 20))
    sent = [0]

    def push():
        while sent[0] < len(data):
            n = _try(send, s, data[sent[0]:sent[0] + (1 << 16)])
            if not n:
                return False
            sent[0] += n
        return True
    assert env.pump(push, 60)
    s.close()
    env.pump(lambda: not th.is_alive(), 60)
    th.join(10)
    srv.close()
    assert bytes(received) == data
    assert env.stack.stats.snmp["Ip"]["FragCreates"] == 0


def test_nat_reassembles_fragmented_guest_datagrams():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as host:
        host.bind(("127.0.0.1", 0))
        host.settimeout(10)
        env = RealClock()
        s = env.sock(2)
        payload = bytes(i & 255 for i in range(65507))     # more than eth0's MTU
        assert send(s, payload, address=("10.0.2.2", host.getsockname()[1])) == len(payload)
        env.pump(lambda: False, 0.05)
        assert env.stack.stats.snmp["Ip"]["FragCreates"] > 0
        assert host.recvfrom(1 << 17)[0] == payload


def test_guest_fin_behind_buffered_data_reaches_host_after_all_of_it():
    """The host reads only once the NAT's receive buffer is full: the
    guest's FIN then rides on its last data segment, and the NAT must pass
    every byte of that segment to the host before the EOF (a nested pump once
    shut the host socket first, and the write after it reset the connection)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 14)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    go = threading.Event()
    received = bytearray()

    def serve():
        c, _ = srv.accept()
        go.wait(60)
        received.extend(b"".join(iter(lambda: c.recv(1 << 16), b"")))
        c.close()
    th = threading.Thread(target=serve)
    th.start()
    env = RealClock()
    s = env.sock(1, flags=F.O_NONBLOCK)
    with pytest.raises(KernelError):
        s.connect(("10.0.2.2", srv.getsockname()[1]))
    assert env.pump(lambda: s.poll_ready()[1])
    data = os.urandom(16 << 20)      # more than the host's socket buffers take
    sent = [0]

    def nat_full():
        while sent[0] < len(data):
            n = _try(send, s, data[sent[0]:sent[0] + (1 << 16)])
            if not n:
                break
            sent[0] += n
        flows = list(env.nat.flows.values())
        return bool(flows) and flows[0].tcb._rcv_space() == 0 and len(s.tcb.sndbuf) > 0
    assert env.pump(nat_full, 60)
    s.shutdown(1)
    go.set()
    env.pump(lambda: not th.is_alive(), 60)
    th.join(10)
    srv.close()
    assert len(received) == sent[0] and bytes(received) == data[:sent[0]]


def test_forwarded_peers_get_distinct_source_ports_in_turn():
    # Random ports collided now and then among 64 concurrent forwarded
    # connections (one flow replaced another and its client hung).
    nat = RealClock().nat
    flows = {}
    seen = []
    for _ in range(500):
        key = nat.new_gateway_key(22, flows)
        assert key not in flows
        flows[key] = object()
        seen.append(key[2])
    assert len(set(seen)) == 500
    taken = nat.new_gateway_key(22, flows)
    assert taken is not None and taken not in flows
