"""Kernel-side plumbing for the SSH server: deferred work on the kernel loop
and TCP sockets of the kernel's stack used without a guest.

Wake-ups (socket, pipe, pty, process exit) arrive in the middle of kernel
code — a TCP segment being processed, a syscall handler.  Doing I/O there
would re-enter the stack, so a wake-up only arms a ``Soon``: a scheduler
timer at time 0 that runs its function at the loop's next timer pass
(the next idle wait or tick), outside any handler."""
import errno
import socket
import logging

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.net import sockopt as O
from akuma.net.socket import Message, family_factory

log = logging.getLogger("akuma.ssh")

READ_CHUNK = 65536


class Soon:
    """Run ``fn`` once, soon, however many times ``kick`` is called before."""

    def __init__(self, kernel, fn):
        from akuma.sched.scheduler import Timer
        self.sched = kernel.sched
        self.timer = Timer(self._run)
        self.fn = fn

    def kick(self):
        if self.timer.deadline is None:
            self.sched.arm(self.timer, 0.0)

    def cancel(self):
        self.sched.arm(self.timer, None)

    def _run(self):
        try:
            self.fn()
        except Exception:
            # A bug here must end one connection's work, never the kernel loop.
            log.exception("ssh: internal error in deferred work")


class Deadline:
    """A scheduler timer at a monotonic time (None: disarmed)."""

    def __init__(self, kernel, fn):
        from akuma.sched.scheduler import Timer
        self.sched = kernel.sched
        self.timer = Timer(fn)

    def set(self, when):
        if when != self.timer.deadline:
            self.sched.arm(self.timer, when)


def tcp_socket(kernel):
    """A non-blocking AF_INET stream socket, made the way socket(2) makes it."""
    sock = family_factory(O.AF_INET)(kernel, O.SOCK_STREAM, 0)
    sock.flags |= F.O_NONBLOCK
    return sock


class _Outbox:
    """The send side both connection kinds share: bytes the server produced
    wait in ``pending`` until the socket takes them; ``write_eof`` shuts
    the write side once they are all out.  Subclasses give ``_push(buf)``
    (bytes taken, 0 when full; raises OSError or KernelError on failure)
    and ``_shut()``."""

    def _init_outbox(self):
        self.eof = False             # peer shut down its side (or the socket failed)
        self.failed = False
        self.pending = bytearray()   # accepted by us, not yet by the socket
        self.shut_wr = False
        self._want_shut = False

    def send(self, data):
        """Queue ``data`` and push what the socket takes now."""
        if data and not self.failed:
            self.pending += data
        self.flush()

    def flush(self):
        while self.pending and not self.failed:
            try:
                n = self._push(self.pending)
            except (OSError, KernelError):
                self.failed = True
                self.pending.clear()
                break
            if n <= 0:
                break
            del self.pending[:n]
        if self._want_shut and not self.pending and not self.shut_wr and not self.failed:
            self.shut_wr = True
            self._shut()

    def write_eof(self):
        self._want_shut = True
        self.flush()

    @property
    def backlog(self):
        return len(self.pending)


class KernelTcp(_Outbox):
    """One connected TCP socket of the kernel stack, pumped by kernel code:
    ``recv``/``send`` never block; ``on_wake`` hears every readiness change."""

    def __init__(self, sock):
        self.sock = sock
        sock.flags |= F.O_NONBLOCK
        self._init_outbox()

    def on_wake(self, callback):
        self.sock.listeners.append(callback)

    def peer(self):
        try:
            host, port = self.sock.getpeername()
            return host, port
        except KernelError:
            return "?", 0

    def recv(self, n=READ_CHUNK):
        """Bytes available now (b"" if none); sets ``eof`` at end of stream."""
        if self.eof:
            return b""
        buf = bytearray(n)
        try:
            got = self.sock.recvmsg([memoryview(buf)], Message(), O.MSG_DONTWAIT)
        except KernelError as e:
            if e.errno == errno.EAGAIN:
                return b""
            self.eof = self.failed = True
            return b""
        if got == 0:
            self.eof = True
            return b""
        return bytes(buf[:got])

    def _push(self, buf):
        try:
            return self.sock.sendmsg([memoryview(buf)], Message(),
                                     O.MSG_DONTWAIT | O.MSG_NOSIGNAL)
        except KernelError as e:
            if e.errno == errno.EAGAIN:
                return 0
            raise

    def _shut(self):
        try:
            self.sock.shutdown(O.SHUT_WR)
        except KernelError:
            pass

    def close(self):
        self.sock.listeners.clear()
        self.pending.clear()
        try:
            self.sock.close()
        except KernelError:
            pass


class HostTcp(_Outbox):
    """KernelTcp's contract over a forwarded host connection that the NAT
    hands straight to a kernel service (Nat.add_local_service).  The NAT's
    selector watches it: readable while the service may read (less than
    ``pause_at`` queued for sending), writable while something is queued."""

    def __init__(self, nat, sock, peer, pause_at):
        import selectors
        self._READ, self._WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
        self.nat = nat
        self.sock = sock
        self._peer = peer
        self.pause_at = pause_at
        self._init_outbox()
        self._listeners = []
        self._events = 0
        self.closed = False
        nat.local_conns.add(self)
        self._watch()

    def on_wake(self, callback):
        self._listeners.append(callback)

    def peer(self):
        return self._peer

    def host_event(self, mask):
        if mask & self._WRITE:
            self.flush()
        for callback in list(self._listeners):
            callback()

    def _watch(self):
        if self.closed:
            return
        events = 0
        if not self.eof and len(self.pending) < self.pause_at:
            events |= self._READ
        if self.pending and not self.failed:
            events |= self._WRITE
        if events == self._events:
            return
        sel = self.nat.sel
        try:
            if not events:
                sel.unregister(self.sock)
            elif not self._events:
                sel.register(self.sock, events, self)
            else:
                sel.modify(self.sock, events, self)
            self._events = events
        except (KeyError, ValueError, OSError):
            self._events = 0

    def recv(self, n=READ_CHUNK):
        if self.eof:
            return b""
        try:
            data = self.sock.recv(n)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:
            data, self.failed = b"", True
        if not data:
            self.eof = True
            self._watch()
        return data

    def _push(self, buf):
        try:
            return self.sock.send(buf)
        except (BlockingIOError, InterruptedError):
            return 0

    def _shut(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def flush(self):
        super().flush()
        self._watch()               # writable interest follows what is queued

    def delivering(self):
        return bool(self.pending) and not self.failed

    def close(self):
        if self.closed:
            return
        self.closed = True
        self._listeners.clear()
        self.pending.clear()
        self.nat.local_conns.discard(self)
        if self._events:
            self.nat.sel_unregister(self.sock)
        try:
            self.sock.close()
        except OSError:
            pass
