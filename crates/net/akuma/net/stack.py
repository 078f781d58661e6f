"""The IPv4 stack: interfaces, routing, IP input/output with fragmentation
and reassembly, ICMP, and demultiplexing to UDP, TCP and ping sockets.

Inbound packets go through one receive queue drained at the top level, so
a reply produced while handling a packet (loopback, the NAT answering at
once) is handled after it, never recursively.  Nothing a packet contains
can raise out of ``input_frame``/``input_ip``: parse failures are counted
drops, and any other exception is a counted drop plus one log line."""
import heapq
import itertools
import random
import time
from collections import deque

from akuma.net import packets as P
from akuma.net.addr import ANY, BROADCAST, pack
from akuma.net.arp import ArpTable
from akuma.net.iface import Interface, render_dev
from akuma.net.reassembly import Reassembler
from akuma.net.route import RoutingTable
from akuma.net.stats import Stats

EPHEMERAL = (32768, 60999)        # Linux's ip_local_port_range
GUEST_MAC = b"\x52\x54\x00\x12\x34\x56"
# eth0's other end is the in-process NAT, not a wire: a large MTU makes host
# <-> guest TCP move 64 KiB per segment instead of 1460 bytes (the per-segment
# Python cost dominates).  Like lo's 65536; tests pin the value.
ETH0_MTU = 65520


class Stack:
    def __init__(self, clock=time.monotonic, log=None):
        self.clock = clock
        self.log = log or (lambda msg: None)
        self.stats = Stats()
        self.stats.curr_estab = self._curr_estab
        self.lo = Interface("lo", "127.0.0.1", 8, 65536)
        self.eth0 = Interface("eth0", "10.0.2.15", 24, ETH0_MTU, GUEST_MAC)
        self.ifaces = [self.lo, self.eth0]
        self.routes = RoutingTable()
        self.routes.add(pack("127.0.0.0"), 8, ANY, self.lo)
        self.routes.add(pack("10.0.2.0"), 24, ANY, self.eth0)
        self.routes.add(ANY, 0, pack("10.0.2.2"), self.eth0)
        self.gateway = pack("10.0.2.2")
        self.dns = pack("10.0.2.3")
        self.arp = ArpTable(clock, self.eth0)
        self.reasm = Reassembler(clock, self.stats)
        self.rxq = deque()
        self._draining = False
        self.ip_ident = random.randrange(1 << 16)
        # Demultiplexing tables
        self.tcp_conns = {}          # (laddr, lport, raddr, rport) -> TcpSocket
        self.bound = {P.IPPROTO_TCP: {}, P.IPPROTO_UDP: {}, P.IPPROTO_ICMP: {}}
        self.raw_icmp = []           # SOCK_RAW/IPPROTO_ICMP sockets
        self.packet_socks = []       # AF_PACKET sockets (akuma.net.packet)
        # guest port -> accept(nat, host socket, peer): see add_local_service
        self.local_services = {}
        # Timers: a heap of (deadline, n, owner); owners have deadline()/on_timer()
        self._timers = []
        self._tseq = itertools.count()
        self.on_timer_change = lambda deadline: None
        self.wake = lambda sock: None            # readiness changed: wake waiters
        self.iss_secret = random.getrandbits(32)

    def add_local_service(self, port, accept):
        """Host connections forwarded to TCP ``port`` (-p HOST:PORT) go to
        ``accept(nat, sock, peer)`` as host sockets instead of over the
        virtual wire.  For the kernel's own servers (SSH), whose bytes would
        otherwise cross two TCP stacks in Python, the guest's and the
        NAT's, for nothing a guest program can observe."""
        self.local_services[port] = accept

    def remove_local_service(self, port, accept):
        if self.local_services.get(port) == accept:
            del self.local_services[port]

    # ============================================================= local addresses
    def is_local(self, addr):
        return addr[0] == 127 or (addr != ANY and any(i.addr == addr for i in self.ifaces))

    def route(self, dst):
        """(interface, next hop): our own addresses go over lo, as in
        Linux's local table."""
        if self.is_local(dst):
            return self.lo, dst
        return self.routes.lookup(dst)

    def source_for(self, dst):
        r = self.route(dst)
        if r is None:
            return None
        return r[0].addr if r[0] is not self.lo else dst

    def unconfigure(self, iface):
        """``iface`` without an address or routes (before DHCP)."""
        iface.addr, iface.prefix = ANY, 0
        self.routes.routes = [r for r in self.routes.routes if r.iface is not iface]
        if iface is self.eth0:
            self.gateway = self.dns = None

    def configure(self, iface, addr, prefix, router=None, dns=None):
        """Give ``iface`` an address, its subnet route and (with ``router``)
        the default route: what a DHCP ACK or the static defaults set."""
        self.unconfigure(iface)
        iface.addr, iface.prefix = addr, prefix
        mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF if prefix else 0
        net = (int.from_bytes(addr, "big") & mask).to_bytes(4, "big")
        self.routes.add(net, prefix, ANY, iface)
        if router is not None:
            self.routes.add(ANY, 0, router, iface)
            if iface is self.eth0:
                self.gateway = router
        if dns is not None and iface is self.eth0:
            self.dns = dns

    # ============================================================= ports
    def port_in_use(self, proto, port, addr, sock, listening=False):
        """Would ``sock`` (about to listen, if ``listening``) clash on ``port``?"""
        for other in self.bound[proto].get(port, ()):
            if other is sock:
                continue
            if listening and proto == P.IPPROTO_TCP and sock.reuseaddr and other.reuseaddr \
                    and not other.listening and not sock.reuseport:
                # Linux refuses listen() only against another listener (or a
                # connection without SO_REUSEADDR) on the same address.
                continue
            if addr != ANY and other.laddr != ANY and other.laddr != addr:
                continue
            if sock.reuseport and other.reuseport:
                continue
            if proto == P.IPPROTO_TCP and sock.reuseaddr and getattr(other, "tcb", None) and \
                    other.tcb.state == "TIME_WAIT":
                continue
            if proto == P.IPPROTO_TCP and sock.reuseaddr and other.reuseaddr and \
                    not other.listening:
                continue
            if proto == P.IPPROTO_UDP and sock.reuseaddr and other.reuseaddr:
                continue
            return True
        return False

    def bind_port(self, proto, sock, addr, port):
        """Bind ``sock``; port 0 picks an ephemeral port.  Returns the port or
        None when taken."""
        if port == 0:
            lo, hi = EPHEMERAL
            start = random.randrange(lo, hi + 1)
            for i in range(hi - lo + 1):
                cand = lo + (start - lo + i) % (hi - lo + 1)
                if not self.bound[proto].get(cand):
                    port = cand
                    break
            else:
                return None
        elif self.port_in_use(proto, port, addr, sock):
            return None
        self.bound[proto].setdefault(port, []).append(sock)
        return port

    def unbind_port(self, proto, sock, port):
        socks = self.bound[proto].get(port)
        if socks and sock in socks:
            socks.remove(sock)
            if not socks:
                del self.bound[proto][port]

    def isn(self, laddr, lport, raddr, rport):
        """RFC 6528: a clock plus a keyed hash of the connection."""
        h = hash((laddr, lport, raddr, rport, self.iss_secret)) & 0xFFFFFFFF
        return (int(self.clock() * 250000) + h) & 0xFFFFFFFF

    # ============================================================= timers
    def schedule(self, owner):
        d = owner.deadline()
        if d is not None:
            if getattr(owner, "_armed_at", None) == d:
                return
            owner._armed_at = d
            heapq.heappush(self._timers, (d, next(self._tseq), owner))
            if self._timers[0][2] is owner:
                self.on_timer_change(d)

    def next_deadline(self):
        while self._timers:
            d, _, owner = self._timers[0]
            if owner.deadline() == d and getattr(owner, "_armed_at", None) == d:
                return d
            heapq.heappop(self._timers)
        return None

    def run_timers(self):
        now = self.clock()
        while self._timers and self._timers[0][0] <= now:
            d, _, owner = heapq.heappop(self._timers)
            if getattr(owner, "_armed_at", None) != d:
                continue
            owner._armed_at = None
            try:
                owner.on_timer()
            except Exception as e:      # a stack bug must not kill the kernel
                self.log(f"net: timer of {owner!r} failed: {e!r}")
            self.schedule(owner)
        self._drain()
        return self.next_deadline()

    def _curr_estab(self):
        return sum(1 for s in set(self.tcp_conns.values())
                   if s.tcb is not None and s.tcb.state in ("ESTABLISHED", "CLOSE_WAIT"))

    # ============================================================= output
    def ip_output(self, src, dst, proto, payload, ttl=64, df=True):
        """Route and send one datagram; False when there is no route."""
        r = self.route(dst)
        if r is None:
            self.stats.inc("Ip", "OutNoRoutes")
            return False
        iface, hop = r
        self.stats.inc("Ip", "OutRequests")
        self.ip_ident = (self.ip_ident + 1) & 0xFFFF
        mtu = min(iface.mtu, 0xFFFF)        # lo's 65536 is more than IPv4 can say
        if 20 + len(payload) <= mtu:
            self._send_on(iface, hop, P.build_ipv4(src, dst, proto, payload, ttl, self.ip_ident,
                                                   df=df and proto == P.IPPROTO_TCP))
            return True
        # Fragment (UDP/ICMP; TCP never exceeds its MSS).
        step = (mtu - 20) & ~7
        mv = memoryview(payload)
        for off in range(0, len(payload), step):
            piece = mv[off:off + step]
            more = off + step < len(payload)
            self._send_on(iface, hop, P.build_ipv4(src, dst, proto, piece, ttl, self.ip_ident,
                                                   df=False, mf=more, frag_off=off))
            self.stats.inc("Ip", "FragCreates")
        self.stats.inc("Ip", "FragOKs")
        return True

    def _send_on(self, iface, hop, packet):
        if iface is self.lo:
            # Queued, never handled here: the sender's state must be complete
            # before its packet is processed (see flush).
            iface.count_tx(len(packet))
            self.rxq.append((self.lo, packet))
        else:
            self.arp.send(hop, packet)

    # ============================================================= input
    def input_frame(self, frame):
        """An Ethernet frame arriving on eth0 (from the NAT side); handled
        at the next flush()."""
        self.rxq.append((None, frame))

    def flush(self):
        """Handle every queued packet, and what handling them queues.  Called
        at the end of each socket call, timer run and NAT event."""
        self._drain()

    def _drain(self):
        if self._draining:
            return
        self._draining = True
        try:
            while self.rxq:
                iface, data = self.rxq.popleft()
                try:
                    if iface is None:
                        self._frame(data)
                    else:
                        iface.count_rx(len(data))
                        self._ip(data, iface)
                except P.Malformed as e:
                    self.stats.drop(e.reason)
                except Exception as e:   # never let a packet kill the kernel
                    self.stats.drop("internal")
                    self.log(f"net: dropped a packet after an internal error: {e!r}")
        finally:
            self._draining = False

    def _frame(self, frame):
        dst, src, ethertype, payload = P.parse_ethernet(frame)
        eth = self.eth0
        if dst != eth.mac and dst != P.BROADCAST_MAC:
            eth.rx_dropped += 1
            return
        eth.count_rx(len(frame))
        if self.packet_socks:
            pkttype = 1 if dst == P.BROADCAST_MAC else 0     # PACKET_BROADCAST / HOST
            for s in list(self.packet_socks):
                s.deliver_frame(frame, ethertype, pkttype, self.ifaces.index(eth) + 1)
        if ethertype == P.ETH_P_ARP:
            self.arp.input(P.parse_arp(payload))
        elif ethertype == P.ETH_P_IP:
            self._ip(payload, eth)
        else:
            eth.rx_dropped += 1

    def _ip(self, data, iface):
        self.stats.inc("Ip", "InReceives")
        ip = P.parse_ipv4(data, verify=iface is not self.lo)
        if not (self.is_local(ip.dst) or ip.dst == BROADCAST or
                (iface is self.eth0 and ip.dst == b"\x0a\x00\x02\xff")):
            self.stats.inc("Ip", "InAddrErrors")
            return
        payload = ip.payload
        if ip.is_fragment:
            whole = self.reasm.add(ip)
            if whole is None:
                return
            payload = memoryview(whole)
        self.stats.inc("Ip", "InDelivers")
        verify = iface is not self.lo
        if ip.proto == P.IPPROTO_TCP:
            self._tcp(ip, P.parse_tcp(payload, ip.src, ip.dst, verify))
        elif ip.proto == P.IPPROTO_UDP:
            self._udp(ip, P.parse_udp(payload, ip.src, ip.dst, verify), payload)
        elif ip.proto == P.IPPROTO_ICMP:
            self._icmp(ip, payload)
        else:
            self.stats.inc("Ip", "InUnknownProtos")
            self._icmp_error(ip, 3, 2)           # protocol unreachable

    # ---- ICMP
    def _icmp(self, ip, payload):
        self.stats.inc("Icmp", "InMsgs")
        m = P.parse_icmp(payload)
        for raw in list(self.raw_icmp):
            raw.deliver_raw(ip, payload)
        if m.type == P.ICMP_ECHO:
            self.stats.inc("Icmp", "InEchos")
            if ip.dst == BROADCAST:
                return
            reply = P.build_icmp(P.ICMP_ECHOREPLY, 0, m.ident, m.seq, m.payload)
            self.stats.inc("Icmp", "OutMsgs")
            self.stats.inc("Icmp", "OutEchoReps")
            self.ip_output(ip.dst, ip.src, P.IPPROTO_ICMP, reply)
        elif m.type == P.ICMP_ECHOREPLY:
            self.stats.inc("Icmp", "InEchoReps")
            for sock in self.bound[P.IPPROTO_ICMP].get(m.ident, ()):
                sock.deliver(ip, m)
        elif m.type == P.ICMP_DEST_UNREACH:
            self.stats.inc("Icmp", "InDestUnreachs")
            self._icmp_unreach(m)
        elif m.type == P.ICMP_TIME_EXCEEDED:
            self.stats.inc("Icmp", "InTimeExcds")

    def _icmp_unreach(self, m):
        """Port/host unreachable for a connection of ours: report it."""
        inner = bytes(m.payload)
        if len(inner) < 28:
            return
        ihl = (inner[0] & 15) * 4
        if len(inner) < ihl + 8:
            return
        proto = inner[9]
        src, dst = inner[12:16], inner[16:20]
        sport = int.from_bytes(inner[ihl:ihl + 2], "big")
        dport = int.from_bytes(inner[ihl + 2:ihl + 4], "big")
        from akuma.abi.errors import ECONNREFUSED, EHOSTUNREACH
        err = ECONNREFUSED if m.code == 3 else EHOSTUNREACH
        if proto == P.IPPROTO_UDP:
            for sock in self.bound[P.IPPROTO_UDP].get(sport, ()):
                if sock.connected_to == (dst, dport):
                    sock.set_error(err)
        elif proto == P.IPPROTO_TCP:
            s = self.tcp_conns.get((src, sport, dst, dport))
            if s is not None and s.tcb is not None and s.tcb.state == "SYN_SENT":
                s.tcb._fail(err)
                self.wake(s)

    def _icmp_error(self, ip, type_, code):
        if ip.dst == BROADCAST or ip.src == ANY:
            return
        original = bytes(ip.header) + bytes(ip.payload[:8])
        msg = P.build_icmp(type_, code, 0, 0, original)
        self.stats.inc("Icmp", "OutMsgs")
        if type_ == 3:
            self.stats.inc("Icmp", "OutDestUnreachs")
        self.ip_output(ip.dst, ip.src, P.IPPROTO_ICMP, msg)

    # ---- UDP
    def _udp(self, ip, u, raw):
        socks = self.bound[P.IPPROTO_UDP].get(u.dport, ())
        best = None
        for s in socks:
            if s.laddr not in (ANY, ip.dst):
                continue
            if s.connected_to is not None and s.connected_to != (ip.src, u.sport):
                continue
            if best is None or (s.connected_to is not None) > (best.connected_to is not None):
                best = s
        if best is None:
            self.stats.inc("Udp", "NoPorts")
            self._icmp_error(ip, 3, 3)
            return
        self.stats.inc("Udp", "InDatagrams")
        best.deliver(ip.src, u.sport, ip.dst, u.payload)

    # ---- TCP
    def _tcp(self, ip, seg):
        self.stats.inc("Tcp", "InSegs")
        sock = self.tcp_conns.get((ip.dst, seg.dport, ip.src, seg.sport))
        if sock is not None:
            if sock.tcb.state == "TIME_WAIT" and seg.flags & P.SYN and not seg.flags & P.ACK:
                listener = self._listener(ip.dst, seg.dport)
                from akuma.net.tcp import seq as S
                if listener is not None and S.gt(seg.seq, sock.tcb.rcv_nxt):
                    sock.tcb._close_now()           # a new incarnation (RFC 9293 3.6.1)
                    sock.tcb_closed()
                    listener.syn_arrived(ip, seg)
                    return
            sock.segment_arrived(seg)
            return
        if seg.flags & P.RST:
            return
        listener = self._listener(ip.dst, seg.dport)
        if listener is not None:
            if seg.flags & P.ACK:
                self.send_rst_for(ip, seg)
            elif seg.flags & P.SYN:
                listener.syn_arrived(ip, seg)
            return
        self.send_rst_for(ip, seg)

    def _listener(self, addr, port):
        cands = [s for s in self.bound[P.IPPROTO_TCP].get(port, ())
                 if s.listening and s.laddr in (ANY, addr)]
        if not cands:
            return None
        exact = [s for s in cands if s.laddr == addr] or cands
        if len(exact) > 1:
            # SO_REUSEPORT: spread connections over the group.
            return exact[random.randrange(len(exact))]
        return exact[0]

    def send_rst_for(self, ip, seg):
        """RFC 9293 3.10.7.1: the reset answering a segment nobody wants."""
        if seg.flags & P.ACK:
            rst = P.Segment(seg.dport, seg.sport, seg.ack, 0, P.RST, 0)
        else:
            rst = P.Segment(seg.dport, seg.sport, 0, (seg.seq + seg.seg_len) & 0xFFFFFFFF,
                            P.RST | P.ACK, 0)
        self.stats.inc("Tcp", "OutRsts")
        self.stats.inc("Tcp", "OutSegs")
        self.ip_output(ip.dst, ip.src, P.IPPROTO_TCP, P.build_tcp(ip.dst, ip.src, rst))

    def send_tcp(self, laddr, raddr, seg, ttl=64):
        self.stats.inc("Tcp", "OutSegs")
        self.ip_output(laddr, raddr, P.IPPROTO_TCP, P.build_tcp(laddr, raddr, seg), ttl)

    # ============================================================= /proc/net
    def render_dev(self):
        return render_dev(self.ifaces)
