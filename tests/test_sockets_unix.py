"""AF_UNIX sockets and the socket syscalls: guest programs under akuma,
compared line by line with qemu-aarch64-static (which passes socket calls
to the host Linux kernel)."""
from harness import test_env as _env


def _lines(cp):
    return cp.stdout.decode().splitlines()


def _both(guest, qemu, akuma, name):
    exe = guest(name)
    got = akuma("run", exe)
    assert got.returncode == 0, got.stderr
    assert b"Traceback" not in got.stderr
    ref = qemu(exe, env=_env())
    assert ref.returncode == 0, ref.stderr
    lines, want = _lines(got), _lines(ref)
    assert lines[-1] == "done"
    return lines, want


def test_socketpair_stream_dgram_seqpacket(guest, qemu, akuma):
    """Ping-pong, FIONREAD, MSG_PEEK/TRUNC/WAITALL, readv/writev, half-close,
    EPIPE+SIGPIPE and MSG_NOSIGNAL, ECONNRESET, SO_SNDBUF flow control,
    SO_RCVTIMEO, poll and epoll (incl. EPOLLET) masks."""
    lines, want = _both(guest, qemu, akuma, "sock_pair")
    for expected in ("send after shut_wr=-32 sigpipes=1", "after reset: read=-104 read=0",
                     "read timeout=-11 waited=1", "seqpacket short=3 fir",
                     "filled: err=-11 some=1 bounded=1", "epoll hup=1 ev=0x2011"):
        assert expected in lines, expected
    assert lines == want


def test_names_server_client_errnos(guest, qemu, akuma):
    """Filesystem and abstract names, a forked server, backlog, datagrams by
    name, AF_UNSPEC dissolve, errno cases, /proc/net/unix."""
    lines, want = _both(guest, qemu, akuma, "sock_server")
    for expected in ("bind in use=-98", "connect not listening=-111", "connect enoent=-2",
                     "stream connect to dgram=-91", "s3 sendto s2 (connected elsewhere)=-1",
                     "proc header=1 found=1", "client status=0"):
        assert expected in lines, expected
    assert lines == want


# Where qemu-user itself departs from Linux (it converts control messages on
# its own): it neither sets MSG_CTRUNC nor closes fds that did not fit, and it
# passes a cmsg_len longer than the buffer.  Akuma gives Linux's answers.
_QEMU_DEVIATIONS = {
    "short ctl: n=1 flags=0 controllen=24": "short ctl: n=1 flags=0x8 controllen=24",
    "fds back to base=0": "fds back to base=1",
    "passcred short: n=1 flags=0 controllen=20": "passcred short: n=1 flags=0x8 controllen=20",
    "bad cmsg_len=1": "bad cmsg_len=-22",
}


def test_fd_passing_and_credentials(guest, qemu, akuma):
    """SCM_RIGHTS (refcounts, MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_PEEK, a
    socket passed to a child), SCM_CREDENTIALS, SO_PASSCRED, SO_PEERCRED."""
    lines, want = _both(guest, qemu, akuma, "sock_fdpass")
    want = [_QEMU_DEVIATIONS.get(x, x) for x in want]
    for expected in ("  fd[2] cloexec=1 read=5 three", "through passed socket: via passed socket",
                     "bad fd=-9", "peercred len=12 pid_ok=1 uid=0 gid=0"):
        assert expected in lines, expected
    assert lines == want
