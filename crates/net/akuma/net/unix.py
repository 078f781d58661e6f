"""AF_UNIX sockets: SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET, with
filesystem names (an S_IFSOCK node in the VFS, found again through its
inode), abstract names (a leading NUL), autobind, SCM_RIGHTS and
SCM_CREDENTIALS.  Errors, poll masks and buffer limits follow Linux's
net/unix/af_unix.c.

A connection is two sockets pointing at each other (``peer``); a sender
appends _Seg records to the receiver's ``queue`` and charges its own
``wmem`` until the receiver consumes them (SO_SNDBUF flow control)."""
import weakref
from collections import deque

from akuma.abi import KernelError
from akuma.abi.errors import (EADDRINUSE, EAGAIN, ECONNREFUSED, ECONNRESET, EEXIST, EINVAL,
                              EISCONN, EMSGSIZE, ENOTCONN, EOPNOTSUPP, EPERM, EPIPE,
                              EPROTONOSUPPORT, EPROTOTYPE, ESOCKTNOSUPPORT)
from akuma.abi.stat import S_IFMT, S_IFSOCK
from akuma.net import sockopt as so
from akuma.net.ancillary import hold, release
from akuma.net.socket import Socket, register_family

EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP = 0x1, 0x4, 0x8, 0x10
EPOLLRDNORM, EPOLLWRNORM, EPOLLWRBAND, EPOLLRDHUP = 0x40, 0x100, 0x200, 0x2000
SOMAXCONN = 4096
MAX_DGRAM_QLEN = 10             # /proc/sys/net/unix/max_dgram_qlen
UNCONNECTED, LISTENING, CONNECTED = "close", "listen", "established"
NOBODY = (0, 0xFFFFFFFF, 0xFFFFFFFF)      # SO_PEERCRED without a peer: {0, -1, -1}


class Namespace:
    """Where names live: abstract names by (name, type), filesystem names by
    the socket node's inode key."""

    def __init__(self):
        self.abstract = {}
        self.paths = {}
        self.live = weakref.WeakSet()     # every open AF_UNIX socket (/proc/net/unix)
        self.autobind_next = 0


_default_ns = Namespace()


def namespace(kernel):
    if kernel is None:
        return _default_ns
    ns = getattr(kernel, "unix_namespace", None)
    if ns is None:
        ns = kernel.unix_namespace = Namespace()
    return ns


class _Seg:
    """Queued data: one datagram/record, or a stretch of a stream."""
    __slots__ = ("data", "off", "files", "cred", "sender", "addr")

    def __init__(self, data, files, cred, sender):
        self.data = data
        self.off = 0
        self.files = files
        self.cred = cred
        self.sender = sender
        self.addr = sender.addr

    def __len__(self):
        return len(self.data) - self.off


def _gather(views, limit):
    out = bytearray()
    for v in views:
        if len(out) >= limit:
            break
        out += v[:limit - len(out)]
    return bytes(out)


class _Scatter:
    def __init__(self, views):
        self.views = [v for v in views if len(v)]
        self.i = self.pos = 0
        self.room = sum(len(v) for v in self.views)

    def put(self, data):
        done = 0
        while done < len(data) and self.i < len(self.views):
            v = self.views[self.i]
            n = min(len(v) - self.pos, len(data) - done)
            v[self.pos:self.pos + n] = data[done:done + n]
            done += n
            self.pos += n
            if self.pos == len(v):
                self.i += 1
                self.pos = 0
        self.room -= done
        return done


class UnixSocket(Socket):
    family = so.AF_UNIX

    def __init__(self, kernel, type, flags=0):
        super().__init__(flags)
        self.kernel = kernel
        self.sched = kernel.sched if kernel is not None else None
        self.ns = namespace(kernel)
        self.type = type
        self.sigpipe = type == so.SOCK_STREAM
        self.state = UNCONNECTED
        self.addr = None              # bytes once bound
        self.path_key = None          # the socket node's inode key (filesystem names)
        self.peer = None
        self.queue = deque()
        self.qbytes = 0
        self.wmem = 0                 # bytes of ours queued in receivers
        self.pending = deque()        # a listener's connections not yet accepted
        self.backlog = 0
        self.shut = 0
        self.dead = False
        self.embryo = False           # connected, waiting in a listener's queue
        self.peercred = None
        self.target = None            # a listener this connect() waits for
        self.ns.live.add(self)

    def __repr__(self):
        return f"<UnixSocket {self.ino} type={self.type} {self.state} addr={self.addr!r}>"

    # -- waking ----------------------------------------------------------------------
    def add_waiter(self, t):
        super().add_waiter(t)
        if self.target is not None:
            self.target.add_waiter(t)            # woken when the backlog drains
        if self.type == so.SOCK_DGRAM and self.peer is not None and self.peer is not self:
            self.peer.add_waiter(t)              # woken when its queue drains

    def wake(self):
        if self.sched is not None:
            self.wake_all(self.sched)
        else:
            self.waiters = []

    def buffer_changed(self):
        self.wake()

    # -- names -----------------------------------------------------------------------
    def _vfs_ctx(self):
        t = self.caller
        p = t.process
        return t.kernel.vfs, p.cwd, p.root, p.umask

    def bind(self, address):
        if address and address[:1] != b"\0":
            return self._bind_path(address)
        if self.addr is not None:
            raise KernelError(EINVAL)
        if not address:
            self._autobind()
            return
        key = (address, self.type)
        if key in self.ns.abstract:
            raise KernelError(EADDRINUSE)
        self.ns.abstract[key] = self
        self.addr = address

    def _bind_path(self, address):
        """Linux makes the node first (EADDRINUSE wins over EINVAL), then
        removes it again if this socket already has a name."""
        vfs, cwd, root, umask = self._vfs_ctx()
        uid, gid = self.cred[1], self.cred[2]
        try:
            vfs.mknod(address, S_IFSOCK | 0o777, cwd=cwd, root=root, umask=umask, uid=uid, gid=gid)
        except KernelError as e:
            if e.errno == EEXIST:
                raise KernelError(EADDRINUSE) from None
            raise
        if self.addr is not None:
            vfs.unlink(address, cwd=cwd, root=root)
            raise KernelError(EINVAL)
        inode = vfs.resolve(address, cwd=cwd, root=root, follow=False).inode
        self.path_key = inode.key
        self.ns.paths[inode.key] = self
        self.addr = address

    def _autobind(self):
        ns = self.ns
        for _ in range(1 << 20):
            name = b"\0%05x" % ns.autobind_next
            ns.autobind_next = (ns.autobind_next + 1) & 0xFFFFF
            if (name, self.type) not in ns.abstract:
                ns.abstract[(name, self.type)] = self
                self.addr = name
                return
        raise KernelError(EADDRINUSE)

    def _find(self, address):
        """The socket bound to ``address`` (of our type)."""
        if not address:
            raise KernelError(EINVAL)
        if address[:1] == b"\0":
            other = self.ns.abstract.get((address, self.type))
            if other is None:
                raise KernelError(ECONNREFUSED)
            return other
        vfs, cwd, root, _ = self._vfs_ctx()
        inode = vfs.resolve(address, cwd=cwd, root=root).inode     # ENOENT, ENOTDIR...
        if inode.mode & S_IFMT != S_IFSOCK:
            raise KernelError(ECONNREFUSED)
        other = self.ns.paths.get(inode.key)
        if other is None or other.dead:
            raise KernelError(ECONNREFUSED)
        if other.type != self.type:
            raise KernelError(EPROTOTYPE)
        return other

    def getsockname(self):
        return self.addr if self.addr is not None else b""

    def getpeername(self):
        if self.peer is None or (self.type != so.SOCK_DGRAM and self.state != CONNECTED):
            raise KernelError(ENOTCONN)
        return self.peer.addr if self.peer.addr is not None else b""

    # -- connections -------------------------------------------------------------------
    def listen(self, backlog):
        if self.type == so.SOCK_DGRAM:
            raise KernelError(EOPNOTSUPP)
        if self.addr is None or self.state == CONNECTED:
            raise KernelError(EINVAL)
        if backlog < 0 or backlog > SOMAXCONN:
            backlog = SOMAXCONN
        self.backlog = backlog
        if self.state != LISTENING:
            self.state = LISTENING
            self.accepting = True
            self.peercred = self.cred
        self.wake()

    def connect(self, address):
        if self.type == so.SOCK_DGRAM:
            return self._dgram_connect(address)
        if address is None:
            raise KernelError(EINVAL)
        if self.state == CONNECTED:
            raise KernelError(EISCONN)
        if self.state == LISTENING:
            raise KernelError(EINVAL)
        other = self._find(address)
        if other.state != LISTENING or other.dead:
            raise KernelError(ECONNREFUSED)
        if len(other.pending) > other.backlog:
            self.target = other
            raise KernelError(EAGAIN)
        self.target = None
        if self.passcred and self.addr is None:
            self._autobind()
        server = UnixSocket(self.kernel, self.type)
        server.addr = other.addr
        server.passcred = other.passcred
        server.peercred = self.cred
        server.embryo = True
        server.state = CONNECTED
        server.peer, self.peer = self, server
        self.state = CONNECTED
        self.peercred = other.peercred
        other.pending.append(server)
        other.wake()
        return 0

    def _dgram_connect(self, address):
        if address is None:                       # AF_UNSPEC: dissolve
            self.peer = None
            self.state = UNCONNECTED
            return 0
        other = self._find(address)
        if self.passcred and self.addr is None:
            self._autobind()
        self.peer = other
        self.state = CONNECTED
        return 0

    def socketpair(self, other):
        if other.type != self.type:
            raise KernelError(EOPNOTSUPP)
        self.peer, other.peer = other, self
        self.state = other.state = CONNECTED
        self.peercred = other.peercred = self.cred

    def accept(self, flags):
        if self.type == so.SOCK_DGRAM:
            raise KernelError(EOPNOTSUPP)
        if self.state != LISTENING:
            raise KernelError(EINVAL)
        if not self.pending:
            raise KernelError(EAGAIN)
        s = self.pending.popleft()
        s.embryo = False
        s.flags = flags
        self.wake()                               # connectors waiting for the backlog
        return s

    def shutdown(self, how):
        if how not in (so.SHUT_RD, so.SHUT_WR, so.SHUT_RDWR):
            raise KernelError(EINVAL)
        mode = how + 1
        self.shut |= mode
        other = self.peer
        if other is not None and self.type != so.SOCK_DGRAM:
            peer_mode = (so.SEND_SHUTDOWN if mode & so.RCV_SHUTDOWN else 0) | \
                (so.RCV_SHUTDOWN if mode & so.SEND_SHUTDOWN else 0)
            other.shut |= peer_mode
            other.wake()
        self.wake()

    # -- sending ----------------------------------------------------------------------
    def _files_of(self, msg):
        files = []
        for level, typ, value in msg.ancillary:
            if level == so.SOL_SOCKET and typ == so.SCM_RIGHTS:
                files += value
        return files or None

    def _cred_of(self, msg):
        for level, typ, value in msg.ancillary:
            if level == so.SOL_SOCKET and typ == so.SCM_CREDENTIALS:
                return tuple(value)
        return self.cred

    def _enqueue(self, other, data, msg):
        files = self._files_of(msg)
        if files:
            for f in files:
                hold(f)
        seg = _Seg(data, files, self._cred_of(msg), self)
        other.queue.append(seg)
        other.qbytes += len(data)
        self.wmem += len(data)
        other.wake()

    def sendmsg(self, views, msg, flags):
        if flags & so.MSG_OOB:
            raise KernelError(EOPNOTSUPP)
        if self.type == so.SOCK_STREAM:
            return self._stream_send(views, msg)
        return self._dgram_send(views, msg)

    def _stream_send(self, views, msg):
        if msg.address is not None:
            raise KernelError(EISCONN if self.state == CONNECTED else EOPNOTSUPP)
        other = self.peer
        if other is None or self.state != CONNECTED:
            raise KernelError(ENOTCONN)
        if self.shut & so.SEND_SHUTDOWN or other.dead or other.shut & so.RCV_SHUTDOWN:
            raise KernelError(EPIPE)
        total = sum(len(v) for v in views)
        if total == 0:
            return 0
        room = self.sndbuf - self.wmem
        if room <= 0:
            raise KernelError(EAGAIN)
        data = _gather(views, min(total, room))
        self._enqueue(other, data, msg)
        return len(data)

    def _dgram_send(self, views, msg):
        if self.type == so.SOCK_SEQPACKET:
            if self.state != CONNECTED:
                raise KernelError(ENOTCONN)
            other = self.peer
        elif msg.address is not None:
            other = self._find(msg.address)
        else:
            other = self.peer
            if other is None:
                raise KernelError(ENOTCONN)
        if self.passcred and self.addr is None:
            self._autobind()
        total = sum(len(v) for v in views)
        if total > self.sndbuf - 32:
            raise KernelError(EMSGSIZE)
        if self.shut & so.SEND_SHUTDOWN:
            raise KernelError(EPIPE)
        if other.dead:
            if self.type == so.SOCK_SEQPACKET:
                raise KernelError(EPIPE)
            if self.peer is other:
                self.peer = None
                self.state = UNCONNECTED
            raise KernelError(ECONNREFUSED)
        if other.peer is not None and other.peer is not self and self.type == so.SOCK_DGRAM:
            raise KernelError(EPERM)
        if other.shut & so.RCV_SHUTDOWN:
            raise KernelError(EPIPE)
        if other is not self and other.peer is not self and len(other.queue) > MAX_DGRAM_QLEN:
            self.target = other                  # wait for its queue to drain
            raise KernelError(EAGAIN)
        self.target = None
        if self.wmem >= self.sndbuf:
            raise KernelError(EAGAIN)
        self._enqueue(other, _gather(views, total), msg)
        return total

    # -- receiving --------------------------------------------------------------------
    def _consumed(self, seg, n):
        self.qbytes -= n
        sender = seg.sender
        sender.wmem -= n
        sender.wake()

    def recvmsg(self, views, msg, flags):
        if flags & so.MSG_OOB:
            raise KernelError(EOPNOTSUPP)
        if self.type == so.SOCK_STREAM:
            return self._stream_recv(views, msg, flags)
        return self._dgram_recv(views, msg, flags)

    def _nothing_queued(self):
        """What a receive finds with an empty queue: an error, EOF or EAGAIN."""
        if self.error:
            raise KernelError(self.take_error())
        if self.shut & so.RCV_SHUTDOWN:
            return 0
        raise KernelError(EAGAIN)

    def _stream_recv(self, views, msg, flags):
        if self.state != CONNECTED:
            raise KernelError(EINVAL)
        want = sum(len(v) for v in views)
        if not self.queue:
            return self._nothing_queued()
        if (flags & so.MSG_WAITALL and not flags & (so.MSG_DONTWAIT | so.MSG_PEEK)
                and self.qbytes < want and not self.shut & so.RCV_SHUTDOWN and not self.error
                and self._sender_has_room()):
            raise KernelError(EAGAIN)
        out = _Scatter(views)
        peek = flags & so.MSG_PEEK
        copied = 0
        first = self.queue[0]
        msg.address = first.addr
        self._deliver_cred(msg, first)
        i = 0
        while out.room and i < len(self.queue):
            seg = self.queue[i]
            if copied and seg.cred != first.cred and self.passcred:
                break
            n = out.put(memoryview(seg.data)[seg.off:])
            copied += n
            files = seg.files
            if peek:
                if files:
                    self._deliver_files(msg, files, dup=True)
                i += 1
            else:
                seg.off += n
                self._consumed(seg, n)
                if files:
                    seg.files = None
                    self._deliver_files(msg, files)
                if not len(seg):
                    self.queue.popleft()
            if files:
                break
        return copied

    def _sender_has_room(self):
        other = self.peer
        return other is not None and not other.dead and other.wmem < other.sndbuf

    def _dgram_recv(self, views, msg, flags):
        if self.type == so.SOCK_SEQPACKET and self.state != CONNECTED:
            raise KernelError(ENOTCONN)
        if not self.queue:
            return self._nothing_queued()
        seg = self.queue[0]
        n = _Scatter(views).put(seg.data)
        if n < len(seg.data):
            msg.flags |= so.MSG_TRUNC
        msg.address = seg.addr
        self._deliver_cred(msg, seg)
        if flags & so.MSG_PEEK:
            if seg.files:
                self._deliver_files(msg, seg.files, dup=True)
        else:
            self.queue.popleft()
            self._consumed(seg, len(seg.data))
            if self.waiters and len(self.queue) == MAX_DGRAM_QLEN:
                self.wake()                      # senders waiting for room in our queue
            if seg.files:
                self._deliver_files(msg, seg.files)
        return len(seg.data) if flags & so.MSG_TRUNC else n

    def _deliver_cred(self, msg, seg):
        if self.passcred:
            msg.ancillary.append((so.SOL_SOCKET, so.SCM_CREDENTIALS, seg.cred))

    @staticmethod
    def _deliver_files(msg, files, dup=False):
        if dup:
            for f in files:
                hold(f)
        msg.ancillary.append((so.SOL_SOCKET, so.SCM_RIGHTS, list(files)))

    # -- readiness -------------------------------------------------------------------
    def _recv_ready(self):
        if self.state == LISTENING:
            return bool(self.pending)
        if self.type != so.SOCK_DGRAM and self.state != CONNECTED:
            return True                  # the read fails at once
        return bool(self.queue) or bool(self.error) or bool(self.shut & so.RCV_SHUTDOWN)

    def _send_ready(self):
        other = self.peer
        if self.state == LISTENING:
            return False
        if other is None or other.dead or self.shut & so.SEND_SHUTDOWN:
            return True                  # the send fails at once
        if self.type != so.SOCK_STREAM and other is not self and other.peer is not self \
                and len(other.queue) > MAX_DGRAM_QLEN:
            return False
        return self.wmem < self.sndbuf

    def poll_ready(self):
        return self._recv_ready(), self._send_ready()

    def poll_events(self):
        mask = 0
        if self.error:
            mask |= EPOLLERR
        if self.shut == so.RCV_SHUTDOWN | so.SEND_SHUTDOWN:
            mask |= EPOLLHUP
        if self.shut & so.RCV_SHUTDOWN:
            mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM
        if self.queue or self.pending:
            mask |= EPOLLIN | EPOLLRDNORM
        if self.type != so.SOCK_DGRAM and self.state == UNCONNECTED:
            mask |= EPOLLHUP
        writable = self.state != LISTENING and self.wmem * 4 <= self.sndbuf
        if writable and self.type != so.SOCK_STREAM:
            other = self.peer
            if other is not None and other.peer is not self and \
                    len(other.queue) > MAX_DGRAM_QLEN:
                writable = False
        if writable:
            mask |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND
        return mask

    def fionread(self):
        if self.state == LISTENING:
            raise KernelError(EINVAL)
        if self.type != so.SOCK_DGRAM:
            return self.qbytes
        return len(self.queue[0]) if self.queue else 0

    # -- options ------------------------------------------------------------------------
    def getsockopt(self, level, name):
        if level != so.SOL_SOCKET:
            raise KernelError(EOPNOTSUPP)        # AF_UNIX has no protocol options
        if name == so.SO_PEERCRED:
            from akuma.net.ancillary import UCRED
            return UCRED.pack(*(self.peercred or NOBODY))
        return super().getsockopt(level, name)

    def setsockopt(self, level, name, value):
        if level != so.SOL_SOCKET:
            raise KernelError(EOPNOTSUPP)
        return super().setsockopt(level, name, value)

    # -- the end ---------------------------------------------------------------------------
    def close(self):
        if self.dead:
            return
        self.dead = True
        ns = self.ns
        ns.live.discard(self)
        if self.addr is not None and ns.abstract.get((self.addr, self.type)) is self:
            del ns.abstract[(self.addr, self.type)]
        if self.path_key is not None and ns.paths.get(self.path_key) is self:
            del ns.paths[self.path_key]
        while self.pending:
            self.pending.popleft().close()      # their clients see ECONNRESET
        other = self.peer
        if other is not None and self.type != so.SOCK_DGRAM and not other.dead:
            other.shut = so.RCV_SHUTDOWN | so.SEND_SHUTDOWN
            if self.queue or self.embryo:
                other.error = ECONNRESET
            other.wake()
        while self.queue:
            seg = self.queue.popleft()
            seg.sender.wmem -= len(seg)
            seg.sender.wake()
            for f in seg.files or ():
                release(f)
        self.qbytes = 0
        self.state = UNCONNECTED if self.state == LISTENING else self.state
        self.wake()


def make_socket(kernel, type, protocol):
    if protocol not in (0, so.AF_UNIX):
        raise KernelError(EPROTONOSUPPORT)
    if type == so.SOCK_RAW:
        type = so.SOCK_DGRAM                 # as Linux's unix_create does
    if type not in (so.SOCK_STREAM, so.SOCK_DGRAM, so.SOCK_SEQPACKET):
        raise KernelError(ESOCKTNOSUPPORT)
    return UnixSocket(kernel, type)


register_family(so.AF_UNIX, make_socket)


# -- /proc/net/unix ---------------------------------------------------------------------

SS_UNCONNECTED, SS_CONNECTED = 1, 3
SO_ACCEPTCON = 1 << 16


def proc_net_unix(kernel):
    lines = [b"Num       RefCount Protocol Flags    Type St Inode Path\n"]
    for s in sorted(namespace(kernel).live, key=lambda s: s.ino):
        flags = SO_ACCEPTCON if s.state == LISTENING else 0
        st = SS_CONNECTED if s.state == CONNECTED else SS_UNCONNECTED
        line = b"0000000000000000: %08X %08X %08X %04X %02X %5d" % (
            2, 0, flags, s.type, st, s.ino)
        if s.addr:
            name = s.addr
            if name[:1] == b"\0":
                name = b"@" + name[1:].replace(b"\0", b"@")
            line += b" " + name
        lines.append(line + b"\n")
    return b"".join(lines)
