"""The user-mode NAT on eth0's other end (QEMU's `-netdev user`): answers
ARP for the gateway 10.0.2.2 and DNS 10.0.2.3, terminates the guest's TCP
connections with a Tcb of its own and relays them to non-blocking host
sockets (10.0.2.2 is the host's 127.0.0.1), and injects host port forwards.

Host sockets live in a private epoll selector whose fd is one wake fd of
the kernel's scheduler, so host I/O wakes the idle loop.  Interest in
reading a host socket is dropped while the guest side cannot take more, so
a slow guest never turns the loop into a busy wait."""
import random
import selectors
import socket

from akuma.net import dhcp
from akuma.net import packets as P
from akuma.net.addr import BROADCAST, pack
from akuma.net.reassembly import Reassembler
from akuma.net.natudp import DNS_IDLE, UDP_IDLE, UdpFlow, UdpForward, dns_upstream
from akuma.net.tcp import tcb as T

GATEWAY = pack("10.0.2.2")
DNS = pack("10.0.2.3")
GUEST = pack("10.0.2.15")
GATEWAY_MAC = b"\x52\x55\x0a\x00\x02\x02"
EPHEMERAL_LO, EPHEMERAL_HI = 32768, 61000       # source ports of forwarded peers


def host_address(addr):
    """Where a guest destination is on the host."""
    return "127.0.0.1" if addr in (GATEWAY, DNS) else socket.inet_ntoa(addr)


class TcpFlow:
    """One guest TCP connection relayed to one host socket."""

    def __init__(self, nat, guest_port, remote, remote_port, host_sock):
        self.nat = nat
        self.key = (guest_port, remote, remote_port)
        self.remote, self.rport, self.gport = remote, remote_port, guest_port
        self.sock = host_sock
        self.host_eof = False
        self.host_shut = False         # the guest's FIN passed on
        self.pending_out = b""
        self._pumping = self._again = False
        self.tcb = T.Tcb(nat.stack.clock, self._emit, random.getrandbits(32),
                         mss=nat.stack.eth0.mtu - 40, rcvbuf=1 << 20, sndbuf=1 << 20,
                         on_event=self._pump)
        self.tcb.lport, self.tcb.rport = remote_port, guest_port
        self.tcb.stats = None
        self.closed = False

    def _emit(self, seg):
        self.nat.to_guest(self.remote, P.IPPROTO_TCP, P.build_tcp(self.remote, GUEST, seg))

    # readiness on either side moves data
    def _pump(self):
        """The Tcb's on_event: also called from inside the Tcb calls made
        here (recv() reports its own change), so a nested call only asks the
        running one to go round again; a nested pump once read the next
        chunk (or saw the FIN and shut the host socket) before the outer one
        had stored the chunk it had just read, losing or reordering it."""
        if self.closed:
            return
        if self._pumping:
            self._again = True
            return
        self._pumping = True
        try:
            self._again = True
            while self._again and not self.closed:
                self._again = False
                self._to_host()
        finally:
            self._pumping = False
        if self.closed:
            return
        t = self.tcb
        self.nat.watch(self)
        if t.state == T.CLOSED or (self.host_eof and t.state == T.TIME_WAIT):
            self.close()

    def _to_host(self):
        """Guest -> host: what the Tcb received, until the host socket is full."""
        t = self.tcb
        while True:
            if not self.pending_out:
                if not t.recv_available():
                    break
                self.pending_out = t.recv(1 << 18)
            try:
                n = self.sock.send(self.pending_out)
            except BlockingIOError:
                return
            except OSError:
                t.abort()
                return
            self.pending_out = self.pending_out[n:]
            if self.pending_out:
                return                      # the host socket is full: EVENT_WRITE
        if t.fin_received and not self.host_shut:
            self.host_shut = True
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def host_readable(self):
        t = self.tcb
        room = t.sndbuf_size - len(t.sndbuf)
        if room <= 0 or t.state not in T.CAN_SEND:
            return
        try:
            data = self.sock.recv(min(room, 65536))
        except BlockingIOError:
            return
        except OSError:
            t.abort()
            self.close()
            return
        if not data:
            self.host_eof = True
            t.shutdown_write()
        else:
            t.send(data)
        self._pump()

    def delivering(self):
        """Guest data (or its FIN) not yet handed to the host socket."""
        t = self.tcb
        return not self.closed and (bool(self.pending_out) or bool(t.recv_available()) or
                                    (t.fin_received and not self.host_shut))

    def wants_read(self):
        t = self.tcb
        return not self.host_eof and t.state in T.CAN_SEND and len(t.sndbuf) < t.sndbuf_size

    def wants_write(self):
        return bool(self.pending_out)

    def deadline(self):
        return self.tcb.deadline()

    def on_timer(self):
        self.tcb.on_timer()
        self._pump()

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.nat.forget(self)
        try:
            self.sock.close()
        except OSError:
            pass


class Nat:
    def __init__(self, stack, sched=None, log=None):
        self.stack = stack
        self.log = log or (lambda msg: None)
        self.sel = selectors.DefaultSelector()
        self.flows = {}              # (guest port, remote, rport) -> TcpFlow
        self.connecting = {}         # host socket -> (flow, syn)
        self.forwards = []           # (host listening socket, guest port, udp)
        self._registered = {}
        self.udp_flows = {}          # (guest port, remote, rport) -> UdpFlow / ForwardPeer
        # The next 10.0.2.2 source port for forwarded connections: handed out
        # in turn, as Linux's ephemeral ports, so a port comes back only after
        # ~28,000 others (never onto a live flow or a fresh TIME_WAIT).
        self._next_sport = random.randrange(EPHEMERAL_LO, EPHEMERAL_HI)
        self.udp_forwards = []
        self.local_conns = set()     # forwarded host sockets held by kernel services
        self.dns_upstream = dns_upstream()
        self.reasm = Reassembler(stack.clock, stack.stats)
        self.dhcp = dhcp.Server(self, GUEST, GATEWAY, DNS, GATEWAY)
        stack.eth0.link = self.from_guest
        if sched is not None:
            sched.add_wake_fd(self.sel.fileno(), self.poll)

    # ---- frames from the guest
    def from_guest(self, frame):
        try:
            dst, src, ethertype, payload = P.parse_ethernet(frame)
            if ethertype == P.ETH_P_ARP:
                self._arp(P.parse_arp(payload))
            elif ethertype == P.ETH_P_IP:
                ip = P.parse_ipv4(payload)
                data = ip.payload
                if ip.is_fragment:
                    # The guest fragments what exceeds eth0's MTU (large
                    # datagrams): the NAT reassembles as a host would.
                    whole = self.reasm.add(ip)
                    if whole is None:
                        return
                    data = memoryview(whole)
                if ip.proto == P.IPPROTO_TCP:
                    self._tcp(ip, P.parse_tcp(data, ip.src, ip.dst))
                elif ip.proto == P.IPPROTO_UDP:
                    self._udp(ip, P.parse_udp(data, ip.src, ip.dst))
                elif ip.proto == P.IPPROTO_ICMP:
                    self._icmp(ip, P.parse_icmp(data))
        except P.Malformed as e:
            self.stack.stats.drops["nat_" + e.reason] += 1

    def _arp(self, a):
        if a.op == P.ARP_REQUEST and a.tpa != GUEST and a.tpa[:3] == GUEST[:3]:
            reply = P.Arp(P.ARP_REPLY, GATEWAY_MAC, a.tpa, a.sha, a.spa)
            self.stack.input_frame(P.build_ethernet(a.sha, GATEWAY_MAC, P.ETH_P_ARP,
                                                    P.build_arp(reply)))

    def _icmp(self, ip, m):
        # The gateway and DNS answer pings themselves (like slirp).
        if m.type == P.ICMP_ECHO and ip.dst in (GATEWAY, DNS):
            self.to_guest(ip.dst, P.IPPROTO_ICMP,
                          P.build_icmp(P.ICMP_ECHOREPLY, 0, m.ident, m.seq, m.payload))

    def to_guest(self, src, proto, payload):
        ip = P.build_ipv4(src, GUEST, proto, payload)
        self.stack.input_frame(P.build_ethernet(self.stack.eth0.mac, GATEWAY_MAC, P.ETH_P_IP, ip))

    # ---- TCP out of the guest
    def _tcp(self, ip, seg):
        flow = self.flows.get((seg.sport, ip.dst, seg.dport))
        if flow is not None:
            if flow.sock in self.connecting:
                return                     # the guest's SYN retry: still connecting
            flow.tcb.input(seg)
            flow._pump()
            self.stack.schedule(flow)
            return
        if seg.flags & P.RST:
            return
        if not seg.flags & P.SYN or seg.flags & P.ACK:
            self._rst(ip, seg)
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect_ex((host_address(ip.dst), seg.dport))
        except OSError:
            s.close()
            self._rst(ip, seg)
            return
        flow = TcpFlow(self, seg.sport, ip.dst, seg.dport, s)
        self.flows[flow.key] = flow
        self.connecting[s] = (flow, seg, ip)
        self.watch(flow)

    def _rst(self, ip, seg):
        rst = P.Segment(seg.dport, seg.sport, 0, (seg.seq + seg.seg_len) & 0xFFFFFFFF,
                        P.RST | P.ACK, 0)
        self.to_guest(ip.dst, P.IPPROTO_TCP, P.build_tcp(ip.dst, GUEST, rst))

    # ---- UDP out of the guest (akuma.net.natudp)
    def _udp(self, ip, u):
        if u.dport == dhcp.SERVER_PORT and u.sport == dhcp.CLIENT_PORT:
            self._dhcp(u)
            return
        key = (u.sport, ip.dst, u.dport)
        flow = self.udp_flows.get(key)
        if flow is None:
            if ip.dst == DNS:
                if u.dport != 53 or self.dns_upstream is None:
                    self.stack.stats.drops["nat_dns_unanswerable"] += 1
                    return
                dest, idle = self.dns_upstream, DNS_IDLE
            elif ip.dst[0] in (0, 255) or ip.dst[0] >= 224 or ip.dst == GUEST:
                return                     # broadcast/multicast: nothing relays them
            else:
                dest, idle = (host_address(ip.dst), u.dport), UDP_IDLE
            try:
                flow = UdpFlow(self, key, dest, idle)
            except OSError as e:
                self.log(f"nat: udp to {dest}: {e}")
                return
            self.adopt_udp(flow)
        flow.send_to_host(bytes(u.payload))
        self.stack.schedule(flow)

    def _dhcp(self, u):
        reply = self.dhcp.input(u.payload)
        if reply is None:
            return
        # To the broadcast address: the guest has no address until the ACK.
        udp = P.build_udp(GATEWAY, BROADCAST, dhcp.SERVER_PORT, dhcp.CLIENT_PORT,
                          dhcp.build(reply))
        ip = P.build_ipv4(GATEWAY, BROADCAST, P.IPPROTO_UDP, udp, df=False)
        self.stack.input_frame(P.build_ethernet(P.BROADCAST_MAC, GATEWAY_MAC, P.ETH_P_IP, ip))

    def adopt_udp(self, binding):
        self.udp_flows[binding.key] = binding
        self.stack.schedule(binding)

    def forget_udp(self, binding):
        if self.udp_flows.get(binding.key) is binding:
            del self.udp_flows[binding.key]

    def udp_to_guest(self, src, sport, gport, data):
        self.to_guest(src, P.IPPROTO_UDP, P.build_udp(src, GUEST, sport, gport, data))

    def udp_unreachable(self, key):
        """The host said port unreachable: tell the guest with ICMP 3/3,
        quoting a header of the datagram it sent."""
        gport, remote, rport = key
        quoted = P.build_ipv4(GUEST, remote, P.IPPROTO_UDP, P.build_udp(GUEST, remote, gport,
                                                                          rport, b""))
        self.to_guest(remote, P.IPPROTO_ICMP, P.build_icmp(P.ICMP_DEST_UNREACH, 3, 0, 0,
                                                           bytes(quoted[:28])))

    def new_gateway_key(self, guest_port, flows=None):
        """A free 10.0.2.2 source port for a forward's new host peer (None
        when every port is taken)."""
        flows = self.udp_flows if flows is None else flows
        for _ in range(EPHEMERAL_HI - EPHEMERAL_LO):
            port = self._next_sport
            self._next_sport = port + 1 if port + 1 < EPHEMERAL_HI else EPHEMERAL_LO
            key = (guest_port, GATEWAY, port)
            if key not in flows:
                return key
        return None

    def add_udp_forward(self, host_addr, host_port, guest_port):
        fwd = UdpForward(self, host_addr, host_port, guest_port)
        self.udp_forwards.append(fwd)
        return fwd.port

    def sel_register(self, sock, owner):
        self.sel.register(sock, selectors.EVENT_READ, owner)

    def sel_unregister(self, sock):
        try:
            self.sel.unregister(sock)
        except (KeyError, ValueError, OSError):
            pass

    # ---- port forwards into the guest
    def add_forward(self, host_addr, host_port, guest_port):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            ls.bind((host_addr, host_port))
            ls.listen(64)
        except OSError:
            ls.close()
            raise
        ls.setblocking(False)
        self.forwards.append((ls, guest_port))
        self.sel.register(ls, selectors.EVENT_READ, ("listen", guest_port))
        return ls.getsockname()[1]

    def _accept(self, ls, guest_port):
        try:
            s, addr = ls.accept()
        except OSError:
            return
        s.setblocking(False)
        local = self.stack.local_services.get(guest_port)
        if local is not None:
            # A kernel service (Stack.add_local_service); it sees the peer
            # as the gateway, as a guest program would.
            local(self, s, (socket.inet_ntoa(GATEWAY), addr[1]))
            return
        key = self.new_gateway_key(guest_port, self.flows)
        if key is None:
            s.close()               # 28,000 live forwarded connections: refuse
            return
        flow = TcpFlow(self, guest_port, GATEWAY, key[2], s)
        self.flows[flow.key] = flow
        flow.tcb.open_active()
        self.stack.schedule(flow)
        self.watch(flow)

    # ---- host I/O
    def watch(self, flow):
        """(Re)register ``flow``'s host socket for what it waits for."""
        if flow.closed:
            return
        if flow.sock in self.connecting:
            events = selectors.EVENT_WRITE
        else:
            events = (selectors.EVENT_READ if flow.wants_read() else 0) | \
                (selectors.EVENT_WRITE if flow.wants_write() else 0)
        old = self._registered.get(flow.sock)
        if events == old:
            return
        try:
            if not events:
                self.sel.unregister(flow.sock)
                self._registered.pop(flow.sock, None)
            elif old is None:
                self.sel.register(flow.sock, events, flow)
                self._registered[flow.sock] = events
            else:
                self.sel.modify(flow.sock, events, flow)
                self._registered[flow.sock] = events
        except (KeyError, ValueError, OSError):
            self._registered.pop(flow.sock, None)

    def forget(self, flow):
        if self._registered.pop(flow.sock, None) is not None:
            try:
                self.sel.unregister(flow.sock)
            except (KeyError, ValueError, OSError):
                pass
        self.connecting.pop(flow.sock, None)
        if self.flows.get(flow.key) is flow:
            del self.flows[flow.key]

    def poll(self):
        """Handle ready host sockets (the scheduler's wake-fd callback)."""
        for key, mask in self.sel.select(0):
            data = key.data
            try:
                if isinstance(data, tuple):
                    self._accept(key.fileobj, data[1])
                elif hasattr(data, "host_event"):
                    data.host_event(mask)
                elif key.fileobj in self.connecting:
                    self._connected(data)
                else:
                    if mask & selectors.EVENT_READ:
                        data.host_readable()
                    if mask & selectors.EVENT_WRITE:
                        data._pump()
                    self.stack.schedule(data)
            except Exception as e:          # a host socket must not kill the kernel
                self.log(f"nat: {e!r}")
        self.stack.flush()

    def _connected(self, flow):
        flow_, syn, ip = self.connecting.pop(flow.sock)
        err = flow.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._rst(ip, syn)
            flow.close()
            return
        flow.tcb.open_passive(syn)
        self.stack.schedule(flow)
        self.watch(flow)
