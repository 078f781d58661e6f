"""The AF_UNIX socket objects without a guest: queues, flow control,
shutdown, close, SCM_RIGHTS references, poll masks, names."""
import pytest

from akuma.abi import KernelError
from akuma.abi.errors import (EADDRINUSE, EAGAIN, ECONNREFUSED, ECONNRESET, EINVAL, EISCONN,
                              EMSGSIZE, ENOTCONN, EPIPE)
from akuma.net import sockopt as so
from akuma.net.socket import Message
from akuma.net.unix import UnixSocket, Namespace, proc_net_unix


class FakeSched:
    def __init__(self):
        self.woken = []

    def wake(self, t):
        self.woken.append(t)


class FakeKernel:
    def __init__(self):
        self.sched = FakeSched()
        self.unix_namespace = Namespace()


class FakeFile:
    def __init__(self):
        self.refs = 1
        self.closed = False

    def close(self):
        self.closed = True


def pair(kind=so.SOCK_STREAM, k=None):
    k = k or FakeKernel()
    a, b = UnixSocket(k, kind), UnixSocket(k, kind)
    a.socketpair(b)
    return a, b


def send(s, data, anc=(), flags=0, address=None):
    return s.sendmsg([memoryview(data)], Message(address, anc), flags)


def recv(s, n, flags=0):
    buf = bytearray(n)
    msg = Message()
    got = s.recvmsg([memoryview(buf)], msg, flags)
    return bytes(buf[:got]), msg


def err(fn, *args):
    with pytest.raises(KernelError) as e:
        fn(*args)
    return e.value.errno


def test_stream_bytes_merge_and_peek():
    a, b = pair()
    assert send(a, b"abc") == 3 and send(a, b"def") == 3
    assert b.fionread() == 6
    assert recv(b, 4, so.MSG_PEEK)[0] == b"abcd"
    assert recv(b, 4)[0] == b"abcd"
    assert recv(b, 10)[0] == b"ef"
    assert err(recv, b, 1) == EAGAIN
    assert a.wmem == 0                       # consumed bytes are uncharged


def test_stream_flow_control_by_sndbuf():
    a, b = pair()
    a.setsockopt(so.SOL_SOCKET, so.SO_SNDBUF, (2304).to_bytes(4, "little"))
    assert a.sndbuf == 4608
    sent = send(a, bytes(10000))
    assert sent == 4608
    assert err(send, a, b"x") == EAGAIN
    assert not a.poll_ready()[1]
    recv(b, 100)
    assert send(a, b"x") == 1


def test_seqpacket_boundaries_and_trunc():
    a, b = pair(so.SOCK_SEQPACKET)
    send(a, b"first")
    send(a, b"second")
    data, msg = recv(b, 3)
    assert data == b"fir" and msg.flags & so.MSG_TRUNC
    buf = bytearray(2)
    assert b.recvmsg([memoryview(buf)], Message(), so.MSG_TRUNC) == 6


def test_dgram_size_limit():
    a, b = pair(so.SOCK_DGRAM)
    assert err(send, a, bytes(a.sndbuf)) == EMSGSIZE


def test_shutdown_and_close():
    a, b = pair()
    a.shutdown(so.SHUT_WR)
    assert recv(b, 5)[0] == b""              # EOF
    assert err(send, a, b"x") == EPIPE
    assert send(b, b"back") == 4
    assert err(a.shutdown, 9) == EINVAL
    c, d = pair()
    send(c, b"unread")
    d.close()
    assert err(recv, c, 1) == ECONNRESET     # once, then EOF
    assert recv(c, 1)[0] == b""
    assert c.poll_events() & 0x10            # POLLHUP


def test_scm_rights_references():
    a, b = pair()
    f = FakeFile()
    send(a, b"x", [(so.SOL_SOCKET, so.SCM_RIGHTS, [f])])
    assert f.refs == 2                       # the sender's fd and the one in flight
    f.refs -= 1                              # the sender closes its fd
    data, msg = recv(b, 10)
    assert msg.ancillary == [(so.SOL_SOCKET, so.SCM_RIGHTS, [f])]
    g = FakeFile()
    send(a, b"y", [(so.SOL_SOCKET, so.SCM_RIGHTS, [g])])
    g.refs -= 1
    b.close()                                # undelivered files are released
    assert g.closed


def test_stream_read_stops_after_fds():
    a, b = pair()
    send(a, b"12", [(so.SOL_SOCKET, so.SCM_RIGHTS, [FakeFile()])])
    send(a, b"34")
    assert recv(b, 10)[0] == b"12"
    assert recv(b, 10)[0] == b"34"


def test_names_listen_connect_accept():
    k = FakeKernel()
    srv = UnixSocket(k, so.SOCK_STREAM)
    assert err(srv.listen, 1) == EINVAL      # unbound
    srv.bind(b"\0name")
    other = UnixSocket(k, so.SOCK_STREAM)
    assert err(other.bind, b"\0name") == EADDRINUSE
    assert err(other.connect, b"\0name") == ECONNREFUSED
    srv.listen(0)
    assert srv.accepting
    assert err(srv.accept, 0) == EAGAIN
    other.cred = (7, 1000, 1000)
    other.connect(b"\0name")
    assert err(other.connect, b"\0name") == EISCONN
    # backlog 0 took one (Linux compares with >); the next waits
    assert err(UnixSocket(k, so.SOCK_STREAM).connect, b"\0name") == EAGAIN
    s = srv.accept(0)
    assert s.getsockname() == b"\0name" and s.getpeername() == b""
    assert s.getsockopt(so.SOL_SOCKET, so.SO_PEERCRED) == \
        (7).to_bytes(4, "little") + (1000).to_bytes(4, "little") * 2
    send(other, b"hi")
    assert recv(s, 2)[0] == b"hi"
    text = proc_net_unix(k)
    assert b"00010000 0001 01" in text and b"@name" in text


def test_autobind_and_unconnected_errors():
    k = FakeKernel()
    s = UnixSocket(k, so.SOCK_DGRAM)
    s.bind(b"")
    assert len(s.getsockname()) == 6 and s.getsockname()[0] == 0
    assert err(s.bind, b"") == EINVAL
    assert err(send, s, b"x") == ENOTCONN
    st = UnixSocket(k, so.SOCK_STREAM)
    assert err(recv, st, 1) == EINVAL
    assert err(send, st, b"x") == ENOTCONN
    assert err(st.getpeername) == ENOTCONN


def test_waiters_are_woken():
    k = FakeKernel()
    a, b = pair(k=k)
    b.add_waiter("reader")
    send(a, b"x")
    assert "reader" in k.sched.woken
