"""AF_INET sockets over the stack's loopback, without a kernel."""
import pytest

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi.errors import (EADDRINUSE, EAGAIN, ECONNREFUSED, EINPROGRESS, EISCONN,
                              ENOTCONN, EPIPE, EACCES, EDESTADDRREQ, EMSGSIZE)
from akuma.net import sockopt as O
from akuma.net.inet import TCP_NODELAY, IP_TTL
from akuma.net.socket import Message
from inet_env import Env, recv, send

STREAM, DGRAM = O.SOCK_STREAM, O.SOCK_DGRAM


def errno_of(fn, *a):
    with pytest.raises(KernelError) as e:
        fn(*a)
    return e.value.errno


def tcp_pair(env, port=5000):
    srv = env.sock(STREAM)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    cli = env.sock(STREAM)
    assert cli.connect(("127.0.0.1", port)) == 0       # loopback completes at once
    conn = srv.accept(0)
    return srv, cli, conn


def test_tcp_echo_names_and_readiness():
    env = Env()
    srv, cli, conn = tcp_pair(env)
    assert conn.getpeername() == cli.getsockname()
    assert cli.getpeername() == ("127.0.0.1", 5000)
    assert cli.getsockname()[1] >= 32768
    assert cli.poll_ready() == (False, True)
    assert send(cli, b"ping") == 4
    assert conn.poll_ready()[0] and conn.fionread() == 4
    assert recv(conn, 2, O.MSG_PEEK)[0] == b"pi"
    assert recv(conn, 100)[0] == b"ping"
    assert errno_of(recv, conn, 10) == EAGAIN
    send(conn, b"pong")
    assert recv(cli, 100)[0] == b"pong"


def test_large_transfer_over_loopback():
    env = Env()
    srv, cli, conn = tcp_pair(env)
    data = bytes(range(256)) * 8192          # 2 MiB
    got = bytearray()
    sent = 0
    for _ in range(10000):
        if sent < len(data):
            try:
                sent += send(cli, data[sent:sent + 100000], O.MSG_DONTWAIT)
            except KernelError as e:
                assert e.errno == EAGAIN
        try:
            got += recv(conn, 1 << 20)[0]
        except KernelError as e:
            assert e.errno == EAGAIN
        if len(got) == len(data):
            break
        env.advance(0.05)
    assert bytes(got) == data


def test_connection_refused_on_closed_port():
    env = Env()
    cli = env.sock(STREAM)
    assert errno_of(cli.connect, ("127.0.0.1", 1)) == ECONNREFUSED
    assert env.stack.stats.snmp["Tcp"]["OutRsts"] == 1


def test_nonblocking_connect_einprogress_then_so_error():
    env = Env()
    cli = env.sock(STREAM, flags=F.O_NONBLOCK)
    # 10.0.2.2 is off-box: the SYN goes to eth0, nobody answers yet.
    assert errno_of(cli.connect, ("10.0.2.77", 80)) == EINPROGRESS
    assert cli.poll_ready() == (False, False)
    env.advance(200)
    assert cli.getsockopt(O.SOL_SOCKET, O.SO_ERROR) == 110      # ETIMEDOUT


def test_bind_conflicts_and_reuseaddr():
    env = Env()
    a = env.sock(STREAM)
    a.bind(("0.0.0.0", 7000))
    a.listen(1)
    b = env.sock(STREAM)
    assert errno_of(b.bind, ("127.0.0.1", 7000)) == EADDRINUSE
    u1, u2 = env.sock(DGRAM), env.sock(DGRAM)
    u1.bind(("127.0.0.1", 7000))                   # UDP and TCP ports are separate
    assert errno_of(u2.bind, ("127.0.0.1", 7000)) == EADDRINUSE
    r1, r2 = env.sock(STREAM), env.sock(STREAM)
    for s in (r1, r2):
        s.setsockopt(O.SOL_SOCKET, O.SO_REUSEPORT, (1).to_bytes(4, "little"))
    r1.bind(("127.0.0.1", 7100))
    r2.bind(("127.0.0.1", 7100))


def test_time_wait_blocks_rebind_without_reuseaddr():
    env = Env()
    srv, cli, conn = tcp_pair(env, 7200)
    conn.close()                                   # the server closes first: TIME_WAIT
    srv.close()
    env.advance(1)
    cli.close()
    env.advance(1)
    again = env.sock(STREAM)
    assert errno_of(again.bind, ("127.0.0.1", 7200)) == EADDRINUSE
    ok = env.sock(STREAM)
    ok.setsockopt(O.SOL_SOCKET, O.SO_REUSEADDR, (1).to_bytes(4, "little"))
    ok.bind(("127.0.0.1", 7200))
    ok.close()
    env.advance(61)
    env.sock(STREAM).bind(("127.0.0.1", 7200))


def test_half_close_and_eof():
    env = Env()
    srv, cli, conn = tcp_pair(env)
    send(cli, b"last words")
    cli.shutdown(O.SHUT_WR)
    assert recv(conn, 100)[0] == b"last words"
    assert recv(conn, 100)[0] == b""               # EOF
    assert errno_of(send, cli, b"x") == EPIPE
    send(conn, b"reply")
    assert recv(cli, 100)[0] == b"reply"


def test_reset_on_close_with_unread_data_and_send_after_reset():
    env = Env()
    srv, cli, conn = tcp_pair(env)
    send(cli, b"unread")
    conn.close()
    assert errno_of(recv, cli, 10) == 104          # ECONNRESET
    assert errno_of(send, cli, b"x") == EPIPE


def test_linger_zero_sends_rst():
    env = Env()
    srv, cli, conn = tcp_pair(env)
    cli.setsockopt(O.SOL_SOCKET, O.SO_LINGER, (1).to_bytes(4, "little") + bytes(4))
    cli.close()
    assert errno_of(recv, conn, 10) == 104


def test_backlog_limits_pending_connections():
    env = Env()
    srv = env.sock(STREAM)
    srv.bind(("127.0.0.1", 5001))
    srv.listen(2)
    clients = []
    for _ in range(2):
        c = env.sock(STREAM)
        c.connect(("127.0.0.1", 5001))
        clients.append(c)
    extra = env.sock(STREAM, flags=F.O_NONBLOCK)
    assert errno_of(extra.connect, ("127.0.0.1", 5001)) == EINPROGRESS
    assert srv.accept(0) is not None and srv.accept(0) is not None
    assert errno_of(srv.accept, 0) == EAGAIN
    env.advance(2)                                 # the SYN is retried, now accepted
    assert srv.accept(0).getpeername() == extra.getsockname()


def test_syn_flood_keeps_listener_usable():
    from akuma.net import packets as P
    from akuma.net.addr import pack
    env = Env()
    srv = env.sock(STREAM)
    srv.bind(("10.0.2.15", 80))
    srv.listen(16)
    me = pack("10.0.2.15")
    for i in range(2000):
        src = bytes([10, 0, 2, 100 + i % 100])
        seg = P.Segment(1024 + i, 80, i * 7919, 0, P.SYN, 1000, mss=1460)
        ip = P.build_ipv4(src, me, P.IPPROTO_TCP, P.build_tcp(src, me, seg))
        frame = P.build_ethernet(env.stack.eth0.mac, b"\x52\x55\x0a\x00\x02\x02", 0x800, ip)
        env.stack.input_frame(frame)
    assert len(srv.syn_queue) <= 256
    cli = env.sock(STREAM)
    cli.connect(("10.0.2.15", 80))
    assert srv.accept(0).getpeername() == cli.getsockname()


def test_udp_datagrams_peek_trunc_and_names():
    env = Env()
    a, b = env.sock(DGRAM), env.sock(DGRAM)
    a.bind(("127.0.0.1", 9000))
    assert send(b, b"hello world", address=("127.0.0.1", 9000)) == 11
    data, msg = recv(a, 5, O.MSG_PEEK)
    assert data == b"hello" and msg.flags & O.MSG_TRUNC
    buf = bytearray(100)
    m = Message()
    assert a.recvmsg([memoryview(buf)[:5]], m, O.MSG_TRUNC) == 11
    # An autobound unconnected sender reports 0.0.0.0 locally, as on Linux.
    assert m.address == ("127.0.0.1", b.getsockname()[1]) and b.getsockname()[0] == "0.0.0.0"
    assert errno_of(recv, a, 10) == EAGAIN
    assert errno_of(send, a, b"x") == EDESTADDRREQ
    assert errno_of(send, a, bytes(70000), 0, ("127.0.0.1", 9)) == EMSGSIZE
    assert errno_of(send, a, b"x", 0, ("255.255.255.255", 9)) == EACCES


def test_udp_to_closed_port_counts_noports_and_reports_on_connected_socket():
    env = Env()
    s = env.sock(DGRAM)
    s.connect(("127.0.0.1", 9999))
    send(s, b"anyone?")
    assert env.stack.stats.snmp["Udp"]["NoPorts"] == 1
    assert errno_of(recv, s, 10) == ECONNREFUSED


def test_large_udp_datagram_is_fragmented_and_reassembled_over_eth0_path():
    env = Env()
    a = env.sock(DGRAM)
    a.bind(("0.0.0.0", 9100))
    frames = []
    env.stack.eth0.link = frames.append
    env.stack.eth0.mtu = 1500          # a wire-sized link (ours is large: see stack.py)
    env.stack.arp.learn(bytes([10, 0, 2, 2]), b"\x52\x55\x0a\x00\x02\x02")
    b = env.sock(DGRAM)
    send(b, bytes(range(256)) * 20, address=("192.0.2.1", 9100))
    assert len(frames) == 4 and env.stack.stats.snmp["Ip"]["FragCreates"] == 4


def test_ping_socket_echo_over_loopback():
    env = Env()
    p = env.sock(DGRAM, 1)
    echo = bytes([8, 0, 0, 0, 0, 0, 0, 7]) + b"payload"
    send(p, echo, address=("127.0.0.1", 0))
    data, msg = recv(p, 100)
    assert data[0] == 0 and data[6:8] == b"\x00\x07" and data[8:] == b"payload"
    assert msg.address == ("127.0.0.1", 0)


def test_tcp_options_nodelay_ttl_keepalive():
    env = Env()
    s = env.sock(STREAM)
    s.setsockopt(6, TCP_NODELAY, (1).to_bytes(4, "little"))
    assert s.getsockopt(6, TCP_NODELAY) == 1
    s.setsockopt(0, IP_TTL, (7).to_bytes(4, "little"))
    assert s.getsockopt(0, IP_TTL) == 7
    s.setsockopt(O.SOL_SOCKET, O.SO_KEEPALIVE, (1).to_bytes(4, "little"))
    assert s.getsockopt(O.SOL_SOCKET, O.SO_KEEPALIVE) == 1
    assert s.getsockopt(O.SOL_SOCKET, O.SO_TYPE) == STREAM


def test_connect_twice_is_eisconn_and_unconnected_recv_enotconn():
    env = Env()
    srv, cli, conn = tcp_pair(env)
    assert errno_of(cli.connect, ("127.0.0.1", 5000)) == EISCONN
    assert errno_of(recv, env.sock(STREAM), 1) == ENOTCONN
