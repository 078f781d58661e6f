"""AF_INET sockets on the in-kernel stack: SOCK_STREAM (TCP), SOCK_DGRAM
(UDP), ping sockets (SOCK_DGRAM/IPPROTO_ICMP) and SOCK_RAW/IPPROTO_ICMP,
implementing akuma.net.socket's contract."""
import akuma.kernel  # noqa: F401  first: akuma.net.socket and syscalls.fs import each other
from akuma.kernel.kernelfile import join_views as _gather, scatter_into as _scatter
from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi.errors import (EACCES, EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EAGAIN,
                              EALREADY, ECONNREFUSED, EDESTADDRREQ, EINPROGRESS, EINVAL,
                              EISCONN, EMSGSIZE, ENETUNREACH, ENOPROTOOPT, ENOTCONN,
                              EOPNOTSUPP, EPIPE, EPROTONOSUPPORT)
from akuma.net import packets as P
from akuma.net import sockopt as O
from akuma.net.addr import ANY, BROADCAST, pack, unpack
from akuma.net.socket import Socket
from akuma.net.tcp import tcb as T

IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP = 0, 6, 17, 1
IP_TOS, IP_TTL, IP_HDRINCL, IP_RECVERR = 1, 2, 3, 11
TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT = 1, 2, 3, 4, 5, 6
TCP_INFO, TCP_QUICKACK, TCP_USER_TIMEOUT, TCP_CONGESTION = 11, 12, 18, 13
EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDNORM, EPOLLWRNORM, EPOLLRDHUP = (
    0x1, 0x4, 0x8, 0x10, 0x40, 0x100, 0x2000)
BLOCKING_SEND_SLACK = 4 << 20      # see TcpSocket.sendmsg
MAX_UDP = 65507


def _nonblocking(sock, flags):
    return bool(sock.flags & F.O_NONBLOCK) or bool(flags & O.MSG_DONTWAIT)


class InetSocket(Socket):
    family = O.AF_INET

    def __init__(self, stack, flags=0):
        super().__init__(flags)
        self.stack = stack
        self.laddr = ANY
        self.lport = 0
        self.ttl = 64
        self.tos = 0

    def _wake(self):
        self.stack.wake(self)

    def getsockname(self):
        return (unpack(self.laddr), self.lport)

    def _ip_option(self, name, value=None):
        if name == IP_TTL:
            if value is None:
                return self.ttl
            v = O.int_value(value)
            if v == -1:
                v = 64
            if not 1 <= v <= 255:
                raise KernelError(EINVAL)
            self.ttl = v
            return None
        if name == IP_TOS:
            if value is None:
                return self.tos
            self.tos = O.int_value(value) & 0xFF
            return None
        if name == IP_RECVERR:
            return 0 if value is None else None
        raise KernelError(ENOPROTOOPT)

    def getsockopt(self, level, name):
        if level == IPPROTO_IP:
            return self._ip_option(name)
        return super().getsockopt(level, name)

    def setsockopt(self, level, name, value):
        if level == IPPROTO_IP:
            return self._ip_option(name, value)
        return super().setsockopt(level, name, value)

    def _check_bind_addr(self, address):
        host, port = address[0], address[1]
        addr = pack(host)
        if addr != ANY and not self.stack.is_local(addr) and addr != BROADCAST:
            raise KernelError(EADDRNOTAVAIL)
        if not 0 <= port <= 0xFFFF:
            raise KernelError(EINVAL)
        return addr, port


# ============================================================================ TCP
class TcpSocket(InetSocket):
    type = O.SOCK_STREAM
    protocol = IPPROTO_TCP

    def __init__(self, stack, flags=0):
        super().__init__(stack, flags)
        self.raddr = ANY
        self.rport = 0
        self.tcb = None
        self.listening = False
        self.backlog = 0
        self.syn_queue = {}            # 4-tuple -> child socket (half-open)
        self.accept_queue = []         # established children
        self.parent = None
        self.connecting = False
        self.nodelay = False
        self.cork = False
        self.keepidle, self.keepintvl, self.keepcnt = 7200, 75, 9
        self.shut = 0                  # RCV_SHUTDOWN | SEND_SHUTDOWN
        self.closed = False
        self.bound_proto = False
        self._linger_until = None      # close(2) waiting under SO_LINGER

    # ---- binding
    def bind(self, address):
        if self.lport or self.tcb is not None:
            raise KernelError(EINVAL)
        addr, port = self._check_bind_addr(address)
        got = self.stack.bind_port(P.IPPROTO_TCP, self, addr, port)
        if got is None:
            raise KernelError(EADDRINUSE)
        self.laddr, self.lport = addr, got
        self.bound_proto = True
        return 0

    def listen(self, backlog):
        if self.tcb is not None:
            raise KernelError(EINVAL)
        if not self.lport:
            self.bind(("0.0.0.0", 0))
        elif not self.listening and self.stack.port_in_use(P.IPPROTO_TCP, self.lport,
                                                           self.laddr, self, listening=True):
            raise KernelError(EADDRINUSE)
        self.listening = True
        self.accepting = True
        self.backlog = max(1, min(backlog if backlog > 0 else 1, 4096))
        return 0

    # ---- passive open
    def syn_arrived(self, ip, seg):
        stats = self.stack.stats
        if len(self.accept_queue) >= self.backlog:
            stats.inc("Tcp", "AttemptFails")
            stats.drops["listen_overflow"] += 1
            return
        if len(self.syn_queue) >= max(self.backlog, 256):
            # SYN flood: the oldest half-open connection makes room.
            key = next(iter(self.syn_queue))
            old = self.syn_queue.pop(key)
            old._release()
            stats.drops["syn_queue_overflow"] += 1
        child = TcpSocket(self.stack)
        child.parent = self
        child.laddr, child.lport, child.raddr, child.rport = ip.dst, seg.dport, ip.src, seg.sport
        child.nodelay, child.ttl = self.nodelay, self.ttl
        child.keepalive, child.keepidle, child.keepintvl, child.keepcnt = \
            self.keepalive, self.keepidle, self.keepintvl, self.keepcnt
        child.sndbuf, child.rcvbuf = self.sndbuf, self.rcvbuf
        child.reuseaddr, child.reuseport = self.reuseaddr, self.reuseport
        # The child holds the port too (a TIME_WAIT child blocks a rebind).
        self.stack.bound[P.IPPROTO_TCP].setdefault(self.lport, []).append(child)
        child.bound_proto = True
        child._new_tcb(ip.dst)
        child.tcb.listener = self
        key = (ip.dst, seg.dport, ip.src, seg.sport)
        self.syn_queue[key] = child
        self.stack.tcp_conns[key] = child
        stats.inc("Tcp", "PassiveOpens")
        child.tcb.open_passive(seg)
        child._after()

    def established(self, tcb):
        child = tcb.owner
        self.syn_queue.pop((child.laddr, child.lport, child.raddr, child.rport), None)
        if self.closed or len(self.accept_queue) >= self.backlog:
            tcb.abort()
            return
        self.accept_queue.append(child)
        self._wake()

    def accept(self, flags):
        if not self.listening:
            raise KernelError(EINVAL)
        while self.accept_queue:
            child = self.accept_queue.pop(0)
            child.parent = None
            child.flags = flags & F.O_NONBLOCK
            return child
        raise KernelError(EAGAIN)

    # ---- active open
    def _new_tcb(self, laddr):
        mtu = self.stack.lo.mtu if laddr[0] == 127 else self.stack.eth0.mtu
        mtu = min(mtu, 0xFFFF)         # an IPv4 datagram's limit: lo's MSS is 65495, as Linux's
        t = T.Tcb(self.stack.clock, self._emit,
                  self.stack.isn(self.laddr, self.lport, self.raddr, self.rport),
                  mss=mtu - 40, rcvbuf=max(self.rcvbuf, 1 << 16) * 2,
                  sndbuf=max(self.sndbuf, 1 << 16) * 2,
                  on_event=self._wake, on_timer_change=lambda: None)
        t.lport, t.rport = self.lport, self.rport
        t.owner = self
        t.stats = self.stack.stats
        t.nodelay, t.cork = self.nodelay, self.cork
        t.keepalive = bool(self.keepalive)
        t.keepidle, t.keepintvl, t.keepcnt = self.keepidle, self.keepintvl, self.keepcnt
        self.tcb = t

    def connect(self, address):
        if self.listening:
            raise KernelError(EISCONN)
        if address is None:
            raise KernelError(EAFNOSUPPORT) if self.tcb is None else KernelError(EISCONN)
        t = self.tcb
        if t is not None:
            if t.state in (T.SYN_SENT, T.SYN_RECEIVED):
                raise KernelError(EALREADY if self.flags & F.O_NONBLOCK and
                                  not self.connecting_blocking else EAGAIN)
            if self.connecting:
                self.connecting = False
                err = t.take_error()
                if err:
                    self._unhash()
                    raise KernelError(err)
                return 0
            if t.state == T.CLOSED:
                err = t.take_error()
                raise KernelError(err or EISCONN)
            raise KernelError(EISCONN)
        raddr = pack(address[0])
        rport = address[1]
        if raddr == ANY:
            raddr = pack("127.0.0.1")      # Linux: connecting to 0.0.0.0 means local
        route = self.stack.route(raddr)
        if route is None:
            raise KernelError(ENETUNREACH)
        if raddr == BROADCAST or raddr[0] >= 224:
            raise KernelError(ENETUNREACH)
        laddr = self.laddr if self.laddr != ANY else self.stack.source_for(raddr)
        if not self.lport:
            got = self.stack.bind_port(P.IPPROTO_TCP, self, ANY, 0)
            if got is None:
                raise KernelError(EADDRNOTAVAIL)
            self.lport = got
            self.bound_proto = True
        key = (laddr, self.lport, raddr, rport)
        if key in self.stack.tcp_conns:
            raise KernelError(EADDRNOTAVAIL)
        self.laddr, self.raddr, self.rport = laddr, raddr, rport
        self._new_tcb(laddr)
        self.stack.tcp_conns[key] = self
        self.stack.stats.inc("Tcp", "ActiveOpens")
        self.connecting = True
        self.connecting_blocking = not self.flags & F.O_NONBLOCK
        self.tcb.open_active()
        self._after()
        self.stack.flush()
        if self.tcb.state == T.ESTABLISHED:         # loopback answers at once
            self.connecting = False
            return 0
        if self.tcb.state == T.CLOSED:
            self.connecting = False
            err = self.tcb.take_error() or ECONNREFUSED
            self._unhash()
            raise KernelError(err)
        raise KernelError(EINPROGRESS if self.flags & F.O_NONBLOCK else EAGAIN)

    connecting_blocking = False

    # ---- wiring to the stack
    def _emit(self, seg):
        self.stack.send_tcp(self.laddr, self.raddr, seg, self.ttl)

    def segment_arrived(self, seg):
        self.tcb.input(seg)
        self._after()

    def deadline(self):
        return self.tcb.deadline() if self.tcb is not None else None

    def on_timer(self):
        if self.tcb is not None:
            self.tcb.on_timer()
            self._after()

    def _after(self):
        """After any TCB activity: timers, and release a dead connection."""
        t = self.tcb
        if t is None:
            return
        if t.state == T.CLOSED:
            if self.connecting and t.error:
                self.stack.stats.inc("Tcp", "AttemptFails")
            self._unhash()
            if self.parent is not None:
                self.parent.syn_queue.pop((self.laddr, self.lport, self.raddr, self.rport), None)
            if self.closed:
                self._unbind()
            self._wake()
            return
        self.stack.schedule(self)

    def tcb_closed(self):
        self._after()

    def _unhash(self):
        key = (self.laddr, self.lport, self.raddr, self.rport)
        if self.stack.tcp_conns.get(key) is self:
            del self.stack.tcp_conns[key]

    def _unbind(self):
        if self.bound_proto:
            self.stack.unbind_port(P.IPPROTO_TCP, self, self.lport)
            self.bound_proto = False

    def _release(self):
        self.closed = True
        if self.tcb is not None:
            self.tcb.abort()
        self._unhash()

    # ---- data
    def sendmsg(self, views, msg, flags):
        if msg.address is not None and self.tcb is None:
            raise KernelError(EPIPE if self.shut else ENOTCONN)
        t = self.tcb
        if t is None or self.listening:
            raise KernelError(ENOTCONN)
        if self.shut & O.SEND_SHUTDOWN:
            raise KernelError(EPIPE)
        if t.error:
            raise KernelError(t.take_error())
        if t.state in (T.SYN_SENT, T.SYN_RECEIVED):
            raise KernelError(EAGAIN)
        if t.state not in T.CAN_SEND:
            raise KernelError(EPIPE)
        data = _gather(views)
        if not len(data):
            return 0
        room = t.sndbuf_size - len(t.sndbuf)
        if room <= 0:
            raise KernelError(EAGAIN)
        if not _nonblocking(self, flags):
            # A blocking send must not return short: take the whole write
            # (bounded slack beyond the buffer) rather than park mid-call.
            room += BLOCKING_SEND_SLACK
        t.cork = self.cork or bool(flags & O.MSG_MORE)
        n = min(room, len(data))
        t.sndbuf_size += max(0, n - (t.sndbuf_size - len(t.sndbuf)))
        try:
            sent = t.send(data[:n])
        except T.TcpError as e:
            raise KernelError(e.errno)
        finally:
            t.sndbuf_size = max(self.sndbuf, 1 << 16) * 2
        self._after()
        self.stack.flush()
        return sent

    def recvmsg(self, views, msg, flags):
        if flags & O.MSG_OOB:
            raise KernelError(EINVAL)
        t = self.tcb
        if self.listening:
            raise KernelError(ENOTCONN)
        if t is None:
            raise KernelError(ENOTCONN)
        want = sum(len(v) for v in views)
        avail = t.recv_available()
        if avail == 0 or (flags & O.MSG_WAITALL and avail < want and
                          not _nonblocking(self, flags)):
            if t.error:
                if avail == 0 or True:
                    raise KernelError(t.take_error())
            eof = t.fin_received or t.state == T.CLOSED or self.shut & O.RCV_SHUTDOWN
            if eof:
                if avail == 0:
                    return 0
            elif avail == 0 or avail < min(want, t.rcvbuf_size // 2):
                if t.state in (T.SYN_SENT, T.SYN_RECEIVED) or avail == 0 or \
                        flags & O.MSG_WAITALL:
                    raise KernelError(EAGAIN)
        if want == 0:
            return 0
        data = t.recv(want, peek=bool(flags & O.MSG_PEEK))
        n = _scatter(views, data)
        self._after()
        self.stack.flush()
        return n

    def shutdown(self, how):
        if self.listening and how in (O.SHUT_RD, O.SHUT_RDWR):
            self._stop_listening()
            return 0
        t = self.tcb
        if t is None or t.state in (T.CLOSED, T.SYN_SENT) and not self.connecting:
            raise KernelError(ENOTCONN)
        if how not in (O.SHUT_RD, O.SHUT_WR, O.SHUT_RDWR):
            raise KernelError(EINVAL)
        if how in (O.SHUT_RD, O.SHUT_RDWR):
            self.shut |= O.RCV_SHUTDOWN
            t.rd_shut = True
        if how in (O.SHUT_WR, O.SHUT_RDWR):
            self.shut |= O.SEND_SHUTDOWN
            t.shutdown_write()
        self._after()
        self.stack.flush()
        self._wake()
        return 0

    def _stop_listening(self):
        self.listening = False
        self.accepting = False
        for child in list(self.syn_queue.values()) + self.accept_queue:
            child.closed = True
            child._release()
        self.syn_queue.clear()
        self.accept_queue = []
        self._wake()

    def close_linger(self, t):
        """close(2) of the last descriptor with SO_LINGER on and a timeout:
        the close (FIN after the queued data) happens at once, then the
        caller waits until everything is acknowledged or the timeout passes.
        Like Linux, a timeout leaves the orphan to finish on its own (no
        reset; linger 0 is the reset).  Restart model: 0 when close(2) may
        finish, None when ``t`` is parked here."""
        onoff, secs = self.linger
        if not onoff or secs <= 0 or self.listening or self.flags & F.O_NONBLOCK:
            return 0
        if self._linger_until is None:
            if self.closed or self.tcb is None:
                return 0
            self._linger_until = self.stack.clock() + secs
            self.close()
        tcb = self.tcb
        if tcb is None or not tcb.send_pending() or self.stack.clock() >= self._linger_until:
            return 0
        self.add_waiter(t)
        t.kernel.sched.block(t, deadline=self._linger_until)
        return None

    def close(self):
        if self.closed and self._linger_until is not None:
            return                        # closed by close_linger already
        self.closed = True
        if self.listening:
            self._stop_listening()
        t = self.tcb
        if t is None or t.state == T.CLOSED:
            self._unhash()
            self._unbind()
            return
        onoff, secs = self.linger
        t.close(linger_abort=bool(onoff) and secs == 0)
        self._after()
        self.stack.flush()

    # ---- names, readiness, options
    def getsockname(self):
        return (unpack(self.laddr), self.lport)

    def getpeername(self):
        t = self.tcb
        if t is None or self.listening or t.state in (T.SYN_SENT, T.SYN_RECEIVED) or \
                (t.state == T.CLOSED and not t.fin_received):
            raise KernelError(ENOTCONN)
        return (unpack(self.raddr), self.rport)

    def take_error(self):
        if self.tcb is not None and self.tcb.error:
            return self.tcb.take_error()
        return super().take_error()

    def poll_ready(self):
        if self.listening:
            return (bool(self.accept_queue), False)
        t = self.tcb
        if t is None:
            return (False, False)
        if t.state in (T.SYN_SENT, T.SYN_RECEIVED):
            return (False, False)
        return (t.readable, t.writable or bool(t.error))

    def poll_events(self):
        if self.listening:
            return EPOLLIN | EPOLLRDNORM if self.accept_queue else 0
        t = self.tcb
        if t is None:
            return EPOLLOUT | EPOLLWRNORM | EPOLLHUP
        mask = 0
        if t.error:
            mask |= EPOLLERR
        closed = t.state == T.CLOSED
        if closed or (self.shut & O.SEND_SHUTDOWN and (t.fin_received or
                                                      self.shut & O.RCV_SHUTDOWN)):
            mask |= EPOLLHUP
        if t.fin_received or self.shut & O.RCV_SHUTDOWN or closed:
            mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP
        if t.recv_available():
            mask |= EPOLLIN | EPOLLRDNORM
        if t.state in T.CAN_SEND and not self.shut & O.SEND_SHUTDOWN and \
                len(t.sndbuf) < t.sndbuf_size:
            mask |= EPOLLOUT | EPOLLWRNORM
        elif closed and not t.error and not self.connecting:
            mask |= EPOLLOUT | EPOLLWRNORM
        return mask

    def poll_mask(self):
        return self.poll_events()

    def fionread(self):
        if self.listening or self.tcb is None:
            return 0
        return self.tcb.recv_available()

    def ioctl(self, req, arg):
        raise KernelError(25)           # ENOTTY: FIONREAD goes through fionread()

    def buffer_changed(self):
        if self.tcb is not None:
            self.tcb.sndbuf_size = max(self.sndbuf, 1 << 16) * 2
            self.tcb.rcvbuf_size = max(self.rcvbuf, 1 << 16) * 2
        self._wake()

    def setsockopt(self, level, name, value):
        if level == IPPROTO_TCP:
            v = O.int_value(value)
            if name == TCP_NODELAY:
                self.nodelay = bool(v)
            elif name == TCP_CORK:
                self.cork = bool(v)
            elif name in (TCP_KEEPIDLE, TCP_KEEPINTVL):
                if not 1 <= v <= 32767:
                    raise KernelError(EINVAL)
                setattr(self, "keepidle" if name == TCP_KEEPIDLE else "keepintvl", v)
            elif name == TCP_KEEPCNT:
                if not 1 <= v <= 127:
                    raise KernelError(EINVAL)
                self.keepcnt = v
            elif name in (TCP_MAXSEG, TCP_QUICKACK, TCP_USER_TIMEOUT):
                pass
            else:
                raise KernelError(ENOPROTOOPT)
            self._sync_options()
            return 0
        r = super().setsockopt(level, name, value)
        if level == O.SOL_SOCKET:
            if name == O.SO_KEEPALIVE:
                self._sync_options()
            elif name in (O.SO_SNDBUF, O.SO_RCVBUF, O.SO_SNDBUFFORCE, O.SO_RCVBUFFORCE):
                self.buffer_changed()
        return r

    def _sync_options(self):
        t = self.tcb
        if t is not None:
            t.nodelay, t.cork = self.nodelay, self.cork
            t.keepalive = bool(self.keepalive)
            t.keepidle, t.keepintvl, t.keepcnt = self.keepidle, self.keepintvl, self.keepcnt
            if not t.cork and t.state in T.CAN_SEND:
                t._output()
            self._after()
            self.stack.flush()

    def getsockopt(self, level, name):
        if level == IPPROTO_TCP:
            if name == TCP_NODELAY:
                return int(self.nodelay)
            if name == TCP_CORK:
                return int(self.cork)
            if name == TCP_KEEPIDLE:
                return self.keepidle
            if name == TCP_KEEPINTVL:
                return self.keepintvl
            if name == TCP_KEEPCNT:
                return self.keepcnt
            if name == TCP_MAXSEG:
                return self.tcb.mss if self.tcb is not None else 536
            raise KernelError(ENOPROTOOPT)
        return super().getsockopt(level, name)

    def ttl_changed(self):
        pass

    def __repr__(self):
        return f"<TcpSocket {unpack(self.laddr)}:{self.lport} " \
               f"{self.tcb.state if self.tcb else ('LISTEN' if self.listening else '-')}>"


# ============================================================================ UDP
class UdpSocket(InetSocket):
    type = O.SOCK_DGRAM
    protocol = IPPROTO_UDP
    proto = P.IPPROTO_UDP
    listening = False

    def __init__(self, stack, flags=0):
        super().__init__(stack, flags)
        self.connected_to = None       # (raddr bytes, port)
        self.queue = []                # [(src addr, sport, payload bytes)]
        self.queued = 0
        self.shut = 0

    def _ensure_bound(self):
        if not self.lport:
            got = self.stack.bind_port(self.proto, self, self.laddr, 0)
            if got is None:
                raise KernelError(EAGAIN)
            self.lport = got

    def bind(self, address):
        if self.lport:
            raise KernelError(EINVAL)
        addr, port = self._check_bind_addr(address)
        got = self.stack.bind_port(self.proto, self, addr, port)
        if got is None:
            raise KernelError(EADDRINUSE)
        self.laddr, self.lport = addr, got
        return 0

    auto_laddr = False

    def connect(self, address):
        if address is None:
            self.connected_to = None
            if self.auto_laddr:                # Linux forgets a source connect() chose
                self.laddr, self.auto_laddr = ANY, False
            return 0
        raddr = pack(address[0])
        if raddr == ANY:
            raddr = pack("127.0.0.1")
        if self.stack.route(raddr) is None:
            raise KernelError(ENETUNREACH)
        self._ensure_bound()
        if self.laddr == ANY or self.auto_laddr:
            # As ip4_datagram_connect: the route's source becomes the local address.
            self.laddr, self.auto_laddr = self.stack.source_for(raddr), True
        self.connected_to = (raddr, address[1])
        return 0

    def getpeername(self):
        if self.connected_to is None:
            raise KernelError(ENOTCONN)
        return (unpack(self.connected_to[0]), self.connected_to[1])

    def set_error(self, err):
        self.error = err
        self._wake()

    def deliver(self, src, sport, dst, payload):
        if self.shut & O.RCV_SHUTDOWN:
            return
        if self.queued + len(payload) > self.rcvbuf:
            self.stack.stats.inc("Udp", "RcvbufErrors")
            self.stack.stats.inc("Udp", "InErrors")
            return
        self.queue.append((src, sport, bytes(payload)))
        self.queued += len(payload)
        self._wake()

    def _destination(self, msg):
        if msg.address is not None:
            dst = pack(msg.address[0])
            if dst == ANY:
                dst = pack("127.0.0.1")
            return dst, msg.address[1]
        if self.connected_to is None:
            raise KernelError(EDESTADDRREQ)
        return self.connected_to

    def sendmsg(self, views, msg, flags):
        if self.shut & O.SEND_SHUTDOWN:
            raise KernelError(EPIPE)
        dst, dport = self._destination(msg)
        if dport == 0:
            raise KernelError(EINVAL)
        data = bytes(_gather(views))
        if len(data) > MAX_UDP:
            raise KernelError(EMSGSIZE)
        if dst == BROADCAST and not self.broadcast:
            raise KernelError(EACCES)
        if self.error:
            raise KernelError(self.take_error())
        self._ensure_bound()
        src = self.laddr if self.laddr != ANY else self.stack.source_for(dst)
        if src is None:
            raise KernelError(ENETUNREACH)
        packet = P.build_udp(src, dst, self.lport, dport, data)
        if not self.stack.ip_output(src, dst, P.IPPROTO_UDP, packet, self.ttl):
            raise KernelError(ENETUNREACH)
        self.stack.stats.inc("Udp", "OutDatagrams")
        self.stack.flush()
        return len(data)

    def recvmsg(self, views, msg, flags):
        if self.error:
            raise KernelError(self.take_error())
        if not self.queue:
            if self.shut & O.RCV_SHUTDOWN:
                return 0
            raise KernelError(EAGAIN)
        src, sport, data = self.queue[0]
        if not flags & O.MSG_PEEK:
            self.queue.pop(0)
            self.queued -= len(data)
        n = _scatter(views, data)
        if msg is not None:
            msg.address = (unpack(src), sport)
            if n < len(data):
                msg.flags |= O.MSG_TRUNC
        return len(data) if flags & O.MSG_TRUNC else n

    def shutdown(self, how):
        if self.connected_to is None:
            raise KernelError(ENOTCONN)
        if how in (O.SHUT_RD, O.SHUT_RDWR):
            self.shut |= O.RCV_SHUTDOWN
        if how in (O.SHUT_WR, O.SHUT_RDWR):
            self.shut |= O.SEND_SHUTDOWN
        self._wake()
        return 0

    def poll_ready(self):
        return (bool(self.queue) or bool(self.error) or bool(self.shut & O.RCV_SHUTDOWN), True)

    def poll_events(self):
        r, w = self.poll_ready()
        return (EPOLLIN | EPOLLRDNORM if r else 0) | EPOLLOUT | EPOLLWRNORM | \
            (EPOLLERR if self.error else 0)

    def poll_mask(self):
        return self.poll_events()

    def fionread(self):
        return len(self.queue[0][2]) if self.queue else 0

    def close(self):
        if self.lport:
            self.stack.unbind_port(self.proto, self, self.lport)
        self.queue = []


# ============================================================================ ICMP
class PingSocket(UdpSocket):
    """Linux's unprivileged ping socket: the "port" is the echo identifier;
    the user writes an ICMP echo header + payload, reads the reply's."""
    protocol = IPPROTO_ICMP
    proto = P.IPPROTO_ICMP

    def sendmsg(self, views, msg, flags):
        dst, _ = self._destination(msg)
        data = bytes(_gather(views))
        if len(data) < 8 or data[0] != P.ICMP_ECHO or data[1] != 0:
            raise KernelError(EINVAL)
        self._ensure_bound()
        seqno = int.from_bytes(data[6:8], "big")
        packet = P.build_icmp(P.ICMP_ECHO, 0, self.lport, seqno, data[8:])
        src = self.laddr if self.laddr != ANY else self.stack.source_for(dst)
        if src is None or not self.stack.ip_output(src, dst, P.IPPROTO_ICMP, packet, self.ttl):
            raise KernelError(ENETUNREACH)
        self.stack.stats.inc("Icmp", "OutMsgs")
        self.stack.stats.inc("Icmp", "OutEchos")
        self.stack.flush()
        return len(data)

    def _destination(self, msg):
        if msg.address is not None:
            return pack(msg.address[0]), 0
        if self.connected_to is None:
            raise KernelError(EDESTADDRREQ)
        return self.connected_to

    def deliver(self, ip, m):
        data = P.build_icmp(m.type, m.code, m.ident, m.seq, m.payload)
        UdpSocket.deliver(self, ip.src, 0, ip.dst, data)


class RawIcmpSocket(InetSocket):
    """SOCK_RAW/IPPROTO_ICMP (busybox ping as root): sends the user's ICMP
    message as is, receives every ICMP datagram with its IP header."""
    type = O.SOCK_RAW
    protocol = IPPROTO_ICMP
    listening = False

    def __init__(self, stack, flags=0):
        super().__init__(stack, flags)
        self.queue = []
        self.connected_to = None
        stack.raw_icmp.append(self)

    def bind(self, address):
        self.laddr, _ = self._check_bind_addr((address[0], 0))
        return 0

    def connect(self, address):
        self.connected_to = None if address is None else (pack(address[0]), 0)
        return 0

    def deliver_raw(self, ip, payload):
        if len(self.queue) < 256:
            self.queue.append((ip.src, bytes(ip.header) + bytes(payload)))
            self._wake()

    def sendmsg(self, views, msg, flags):
        if msg.address is not None:
            dst = pack(msg.address[0])
        elif self.connected_to is not None:
            dst = self.connected_to[0]
        else:
            raise KernelError(EDESTADDRREQ)
        data = bytes(_gather(views))
        if len(data) > 65515:
            raise KernelError(EMSGSIZE)
        src = self.laddr if self.laddr != ANY else self.stack.source_for(dst)
        if src is None or not self.stack.ip_output(src, dst, P.IPPROTO_ICMP, data, self.ttl,
                                                   df=False):
            raise KernelError(ENETUNREACH)
        self.stack.stats.inc("Icmp", "OutMsgs")
        self.stack.flush()
        return len(data)

    def recvmsg(self, views, msg, flags):
        if not self.queue:
            raise KernelError(EAGAIN)
        src, data = self.queue[0]
        if not flags & O.MSG_PEEK:
            self.queue.pop(0)
        n = _scatter(views, data)
        if msg is not None:
            msg.address = (unpack(src), 0)
            if n < len(data):
                msg.flags |= O.MSG_TRUNC
        return len(data) if flags & O.MSG_TRUNC else n

    def poll_ready(self):
        return (bool(self.queue), True)

    def fionread(self):
        return len(self.queue[0][1]) if self.queue else 0

    def close(self):
        if self in self.stack.raw_icmp:
            self.stack.raw_icmp.remove(self)


class RawIpSocket(InetSocket):
    """SOCK_RAW/IPPROTO_RAW: send-only, the caller writes the IP header
    (IP_HDRINCL); Linux delivers nothing to it.  busybox udhcpc opens one
    for the interface ioctls."""
    type = O.SOCK_RAW
    protocol = 255
    listening = False

    def bind(self, address):
        self.laddr, _ = self._check_bind_addr((address[0], 0))
        return 0

    def connect(self, address):
        return 0

    def sendmsg(self, views, msg, flags):
        data = bytes(_gather(views))
        try:
            ip = P.parse_ipv4(data, verify=False)
        except P.Malformed:
            raise KernelError(EINVAL)
        dst = pack(msg.address[0]) if msg.address is not None else ip.dst
        src = ip.src if ip.src != ANY else self.stack.source_for(dst)
        if src is None or not self.stack.ip_output(src, dst, ip.proto, bytes(ip.payload),
                                                   ip.ttl, df=False):
            raise KernelError(ENETUNREACH)
        self.stack.flush()
        return len(data)

    def recvmsg(self, views, msg, flags):
        raise KernelError(EAGAIN)

    def poll_ready(self):
        return (False, True)


def make_socket(stack, type_, protocol, flags=0):
    """The AF_INET socket for (type, protocol), or KernelError."""
    if type_ == O.SOCK_STREAM and protocol in (0, IPPROTO_TCP):
        return TcpSocket(stack, flags)
    if type_ == O.SOCK_DGRAM and protocol in (0, IPPROTO_UDP):
        return UdpSocket(stack, flags)
    if type_ == O.SOCK_DGRAM and protocol == IPPROTO_ICMP:
        return PingSocket(stack, flags)
    if type_ == O.SOCK_RAW and protocol == IPPROTO_ICMP:
        return RawIcmpSocket(stack, flags)
    if type_ == O.SOCK_RAW and protocol == 255:
        return RawIpSocket(stack, flags)
    if type_ in (O.SOCK_STREAM, O.SOCK_DGRAM, O.SOCK_RAW):
        raise KernelError(EPROTONOSUPPORT)
    raise KernelError(EOPNOTSUPP if type_ == O.SOCK_SEQPACKET else EPROTONOSUPPORT)
