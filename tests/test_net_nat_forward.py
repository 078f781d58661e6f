"""The network seen from outside the guest: port forwards (-p) into guest
servers, the user-mode NAT out to host servers on 127.0.0.1 (as 10.0.2.2),
DNS relayed from 10.0.2.3 to a resolver the test runs on 127.0.0.1, and the
busybox tools (ifconfig, route, netstat, wget, nc, nslookup, ping) reading
/proc/net and the interface ioctls.  Everything stays on loopback."""
import http.server
import os
import socket
import struct
import subprocess
import threading
import time
import zlib

import pytest

import debroot
from harness import AKUMA, test_env


@pytest.fixture(scope="module")
def root():
    try:
        return debroot.sysroot()
    except debroot.Unavailable as e:
        pytest.skip(f"Debian arm64 packages unavailable: {e}")


def _free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _busybox(akuma, root, script, *opts, env=None):
    return akuma("run", *opts, "-v", f"{root}:/", "-e", "PATH=/bin", "--", "/bin/busybox", "sh",
                 "-c", script, env=env)


def _start(*args, env=None):
    """`akuma run ARGS` in the background; the guest's first line is read."""
    p = subprocess.Popen(AKUMA + ["run", *args], env=env or test_env(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p


def _finish(p):
    out, err = p.communicate(timeout=120)
    assert b"Traceback" not in err, err.decode(errors="replace")
    return out, err


# ---------------------------------------------------------------- host servers
class _Dns(threading.Thread):
    """A tiny authoritative DNS server on 127.0.0.1: A records for NAMES,
    NXDOMAIN for other names."""
    NAMES = {"host.akuma.test": "10.0.2.2"}

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries = 0

    def run(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(2048)
            except OSError:
                return
            self.queries += 1
            self.sock.sendto(self.answer(q), peer)

    def answer(self, q):
        ident = struct.unpack_from("!H", q)[0]
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode())
            i += 1 + q[i]
        qtype = struct.unpack_from("!H", q, i + 1)[0]
        question = q[12:i + 5]
        addr = self.NAMES.get(".".join(labels).lower())
        if addr and qtype == 1:
            rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
            return struct.pack("!6H", ident, 0x8580, 1, 1, 0, 0) + question + rr
        return struct.pack("!6H", ident, 0x8580 | (0 if addr else 3), 1, 0, 0, 0) + question


@pytest.fixture
def dns():
    d = _Dns()
    d.start()
    yield d
    d.sock.close()


@pytest.fixture
def http_root(tmp_path):
    (tmp_path / "index.html").write_bytes(b"served by the host\n")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------- tests
def test_busybox_reads_interfaces_routes_and_sockets(akuma, root):
    got = _busybox(akuma, root,
                   "busybox ifconfig; busybox route -n; busybox nc -l -p 4321 & "
                   "while ! busybox grep -q ':10E1 ' /proc/net/tcp; do :; done; "
                   "busybox netstat -tln; kill $!; busybox grep -c . /proc/net/snmp")
    out = got.stdout.decode()
    assert got.returncode == 0, got.stderr
    assert "eth0      Link encap:Ethernet  HWaddr 52:54:00:12:34:56" in out
    assert "inet addr:10.0.2.15  Bcast:10.0.2.255  Mask:255.255.255.0" in out
    assert "UP LOOPBACK RUNNING  MTU:65536" in out
    assert "0.0.0.0         10.0.2.2        0.0.0.0         UG    0      0        0 eth0" in out
    assert "tcp        0      0 0.0.0.0:4321            0.0.0.0:*               LISTEN" in out
    assert out.rstrip().endswith("\n8")          # Ip, Icmp, Tcp, Udp: names and values
    assert got.stderr == b""


def test_host_reaches_guest_tcp_server_through_forward(guest):
    port = _free_port()
    p = _start("-p", f"{port}:8000", guest("net_peer"), "tcp-sink", "8000")
    assert p.stdout.readline() == b"ready\n"
    payload = os.urandom(1 << 20)
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        reply = b"".join(iter(lambda: s.recv(100), b""))
    assert reply == b"%d\n" % len(payload)
    _finish(p)
    assert p.returncode == 0


def test_host_reaches_busybox_nc_listener_and_back(root):
    port = _free_port()
    p = _start("-p", f"127.0.0.1:{port}:80", "-v", f"{root}:/", "-e", "PATH=/bin", "--",
               "/bin/busybox", "sh", "-c", "echo hello from the guest | busybox nc -l -p 80")
    reply = b""
    for _ in range(1200):     # until akuma forwards and the guest listens (no ready line)
        assert p.poll() is None, p.stderr.read()
        try:
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"hello from the host\n")
                s.shutdown(socket.SHUT_WR)
                reply = b"".join(iter(lambda: s.recv(100), b""))
        except (ConnectionRefusedError, ConnectionResetError, BrokenPipeError):
            pass
        if reply:
            break
        time.sleep(0.05)
    assert reply == b"hello from the guest\n"
    out, _ = _finish(p)
    assert out == b"hello from the host\n" and p.returncode == 0


def test_guest_reaches_host_servers_as_gateway(akuma, root, http_root):
    tcp_port = _free_port()
    received = []

    def serve(ls):
        c, _ = ls.accept()
        received.append(b"".join(iter(lambda: c.recv(100), b"")))
        c.close()
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", tcp_port))
        ls.listen(1)
        t = threading.Thread(target=serve, args=(ls,), daemon=True)
        t.start()
        got = _busybox(akuma, root,
                       f"busybox wget -q -O - http://10.0.2.2:{http_root}/index.html && "
                       f"echo guest to host | busybox nc 10.0.2.2 {tcp_port} && "
                       "busybox ping -c 1 10.0.2.2 && busybox ping -c 1 127.0.0.1")
        t.join(30)
    out = got.stdout.decode()
    assert got.returncode == 0, got.stderr
    assert out.startswith("served by the host\n")
    assert received == [b"guest to host\n"]
    assert "64 bytes from 10.0.2.2: seq=0 ttl=64" in out
    assert "64 bytes from 127.0.0.1: seq=0 ttl=64" in out


def test_nslookup_through_the_dns_relay(akuma, root, dns):
    env = test_env(AKUMA_DNS_UPSTREAM=f"127.0.0.1:{dns.port}")
    got = _busybox(akuma, root, "busybox nslookup host.akuma.test 10.0.2.3; "
                                "busybox nslookup missing.akuma.test 10.0.2.3; echo rc=$?", env=env)
    out = got.stdout.decode()
    assert "Name:\thost.akuma.test\nAddress: 10.0.2.2\n" in out
    assert "can't find missing.akuma.test: NXDOMAIN" in out and out.endswith("rc=1\n")
    assert dns.queries >= 2


def test_guest_udp_to_host_and_udp_forward_in(akuma, guest):
    exe = guest("net_peer")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as echo:
        echo.bind(("127.0.0.1", 0))
        echo_port = echo.getsockname()[1]

        def serve():
            data, peer = echo.recvfrom(2048)
            echo.sendto(b"echo:" + data, peer)
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        got = akuma("run", exe, "udp-ask", "10.0.2.2", str(echo_port), "ping")
        t.join(30)
    assert got.stdout == b"reply from 10.0.2.2:%d: echo:ping\n" % echo_port, got.stderr

    port = _free_port(socket.SOCK_DGRAM)
    p = _start("-p", f"{port}:7/udp", exe, "udp-echo", "7", "2")
    assert p.stdout.readline() == b"ready\n"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(60)
        replies = []
        for m in (b"one", b"two"):
            s.sendto(m, ("127.0.0.1", port))
            replies.append(s.recvfrom(100))
    assert replies == [(b"one", ("127.0.0.1", port)), (b"two", ("127.0.0.1", port))]
    _finish(p)
    assert p.returncode == 0


def test_busy_host_port_is_a_one_line_warning(akuma, guest):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        got = akuma("run", "-p", f"{port}:80", guest("net_peer"), "connects", "3")
    assert got.stdout == b"connected 3\n" and got.returncode == 0
    lines = got.stderr.decode().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}/tcp" in lines[0] and "in use" in lines[0]


def test_bad_forward_spec_is_a_usage_error(akuma, guest):
    got = akuma("run", "-p", "300.1.1.1:80:80", guest("net_peer"), "connects", "1")
    assert got.returncode == 2 and b"bad port forward" in got.stderr


def test_interface_ioctls_from_a_guest_program(akuma, guest):
    got = akuma("run", guest("net_peer"), "ifconf")
    assert got.returncode == 0, got.stderr
    assert got.stdout == b"lo 127.0.0.1 index 1 mtu 65536\neth0 10.0.2.15 index 2 mtu 65520\n"
    assert got.stderr == b"nope0: No such device\n"


BULK = 4 << 20


def _sent_line(out):
    """(byte count, crc32) from net_peer's "sent N crc X" line."""
    words = out.split()
    assert words[0] == b"sent" and words[2] == b"crc", out
    return int(words[1]), int(words[3], 16)


def test_guest_sends_bulk_to_host_server_through_nat(akuma, guest):
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        ls.settimeout(120)
        received = []

        def serve():
            c, _ = ls.accept()
            with c:
                received.append(b"".join(iter(lambda: c.recv(1 << 16), b"")))
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        got = akuma("run", guest("net_peer"), "tcp-send", "10.0.2.2",
                    str(ls.getsockname()[1]), str(BULK))
        t.join(60)
    assert got.returncode == 0, got.stderr
    data = received[0]
    assert _sent_line(got.stdout) == (BULK, zlib.crc32(data)) and len(data) == BULK


def test_host_reads_bulk_from_guest_server_through_forward(guest):
    port = _free_port()
    p = _start("-p", f"{port}:8000", guest("net_peer"), "tcp-source", "8000", str(BULK))
    try:
        assert p.stdout.readline() == b"ready\n"
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.settimeout(60)
            data = b"".join(iter(lambda: s.recv(1 << 16), b""))
        out, _ = _finish(p)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0
    assert _sent_line(out) == (BULK, zlib.crc32(data)) and len(data) == BULK
