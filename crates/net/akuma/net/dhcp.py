"""DHCP (RFC 2131/2132): the wire format, the server on the NAT's side of
eth0 (QEMU slirp's bootp: the guest gets 10.0.2.15/24, router 10.0.2.2,
DNS 10.0.2.3, a one-day lease) and the kernel's client that configures
eth0 at boot.

``parse`` raises ``Malformed`` for anything that is not a well-formed
BOOTP message with the DHCP magic cookie; the server and client count
the drop (``dhcp_<reason>``) and never raise."""
import random
import struct

from akuma.net import packets as P
from akuma.net.addr import ANY, BROADCAST, pack, unpack

SERVER_PORT, CLIENT_PORT = 67, 68
BOOTREQUEST, BOOTREPLY = 1, 2
MAGIC = b"\x63\x82\x53\x63"
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = range(1, 9)
MSG_NAMES = {DISCOVER: "DISCOVER", OFFER: "OFFER", REQUEST: "REQUEST", DECLINE: "DECLINE",
             ACK: "ACK", NAK: "NAK", RELEASE: "RELEASE", INFORM: "INFORM"}
# options
OPT_PAD, OPT_SUBNET, OPT_ROUTER, OPT_DNS, OPT_HOSTNAME, OPT_DOMAIN = 0, 1, 3, 6, 12, 15
OPT_REQUESTED_IP, OPT_LEASE, OPT_MSGTYPE, OPT_SERVER_ID = 50, 51, 53, 54
OPT_PARAMS, OPT_MAXSIZE, OPT_T1, OPT_T2, OPT_CLIENT_ID, OPT_END = 55, 57, 58, 59, 61, 255

_HDR = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s4s")   # 240 bytes with the cookie
LEASE_TIME = 86400                                       # slirp's LEASE_TIME


class Message:
    __slots__ = ("op", "xid", "secs", "flags", "ciaddr", "yiaddr", "siaddr", "giaddr",
                 "chaddr", "options")

    def __init__(self, op, xid, chaddr, options, yiaddr=ANY, ciaddr=ANY, siaddr=ANY,
                 flags=0, secs=0, giaddr=ANY):
        self.op, self.xid, self.chaddr, self.options = op, xid, chaddr, options
        self.yiaddr, self.ciaddr, self.siaddr, self.giaddr = yiaddr, ciaddr, siaddr, giaddr
        self.flags, self.secs = flags, secs

    @property
    def type(self):
        v = self.options.get(OPT_MSGTYPE)
        return v[0] if v and len(v) == 1 else None

    def addr_option(self, code):
        v = self.options.get(code)
        return v[:4] if v is not None and len(v) >= 4 and len(v) % 4 == 0 else None


def parse(data):
    """A BOOTP/DHCP message from a UDP payload, or Malformed."""
    data = bytes(data)
    if len(data) < _HDR.size:
        raise P.Malformed("dhcp_short")
    (op, htype, hlen, _hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr,
     _sname, _file, magic) = _HDR.unpack_from(data)
    if op not in (BOOTREQUEST, BOOTREPLY):
        raise P.Malformed("dhcp_op")
    if htype != 1 or hlen != 6:
        raise P.Malformed("dhcp_hwtype")
    if magic != MAGIC:
        raise P.Malformed("dhcp_magic")
    options = {}
    i, n = _HDR.size, len(data)
    while True:
        if i >= n:
            raise P.Malformed("dhcp_no_end")
        code = data[i]
        if code == OPT_END:
            break
        if code == OPT_PAD:
            i += 1
            continue
        if i + 2 > n or i + 2 + data[i + 1] > n:
            raise P.Malformed("dhcp_option_len")
        ln = data[i + 1]
        # RFC 3396: a repeated option is concatenated.
        options[code] = options.get(code, b"") + data[i + 2:i + 2 + ln]
        i += 2 + ln
    m = Message(op, xid, chaddr[:6], options, yiaddr, ciaddr, siaddr, flags, secs, giaddr)
    t = options.get(OPT_MSGTYPE)
    if t is not None and (len(t) != 1 or not DISCOVER <= t[0] <= INFORM):
        raise P.Malformed("dhcp_msgtype")
    return m


def build(m):
    out = bytearray(_HDR.pack(m.op, 1, 6, 0, m.xid, m.secs, m.flags, m.ciaddr, m.yiaddr,
                              m.siaddr, m.giaddr, m.chaddr.ljust(16, b"\0"), b"", b"", MAGIC))
    for code, value in m.options.items():
        for off in range(0, max(len(value), 1), 255):
            chunk = value[off:off + 255]
            out += bytes((code, len(chunk))) + chunk
    out.append(OPT_END)
    if len(out) < 300:
        out += b"\0" * (300 - len(out))        # BOOTP's minimum, as slirp pads
    return bytes(out)


# ==================================================================== the NAT's server
class Server:
    """slirp's bootp.c in miniature: one lease, the guest's address, for
    any client; REQUESTs for another address are NAKed."""

    def __init__(self, nat, client_ip, router, dns, server_id, prefix=24, lease=LEASE_TIME):
        self.nat = nat
        self.client_ip, self.router, self.dns, self.server_id = client_ip, router, dns, server_id
        self.mask = ((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF).to_bytes(4, "big")
        self.lease = lease
        self.leases = {}              # chaddr -> address bound by an ACK

    def input(self, payload):
        """One datagram to port 67; the reply message, or None."""
        try:
            m = parse(payload)
        except P.Malformed as e:
            self.nat.stack.stats.drops[e.reason] += 1
            return None
        if m.op != BOOTREQUEST:
            self.nat.stack.stats.drops["dhcp_not_request"] += 1
            return None
        t = m.type
        if t == DISCOVER:
            return self._reply(m, OFFER)
        if t == REQUEST:
            want = m.addr_option(OPT_REQUESTED_IP) or (m.ciaddr if m.ciaddr != ANY else None)
            sid = m.addr_option(OPT_SERVER_ID)
            if sid is not None and sid != self.server_id:
                return None                    # the client chose another server
            if want is not None and want != self.client_ip:
                return self._reply(m, NAK)
            self.leases[m.chaddr] = self.client_ip
            return self._reply(m, ACK)
        if t == RELEASE:
            self.leases.pop(m.chaddr, None)
        return None

    def _reply(self, req, type_):
        opts = {OPT_MSGTYPE: bytes((type_,)), OPT_SERVER_ID: self.server_id}
        if type_ == NAK:
            return Message(BOOTREPLY, req.xid, req.chaddr, opts, flags=req.flags)
        opts[OPT_SUBNET] = self.mask
        opts[OPT_ROUTER] = self.router
        opts[OPT_DNS] = self.dns
        opts[OPT_LEASE] = struct.pack("!I", self.lease)
        return Message(BOOTREPLY, req.xid, req.chaddr, opts, yiaddr=self.client_ip,
                       siaddr=self.server_id, flags=req.flags)


# ==================================================================== the kernel's client
class Client:
    """Configures eth0 from the NAT's answer: DISCOVER, OFFER, REQUEST,
    ACK.  Until the ACK eth0 has no address (0.0.0.0, no routes); after
    ``timeout`` seconds without one it falls back to ``fallback`` (the
    QEMU defaults) and logs it.  Bound on UDP port 68 like a socket: the
    stack delivers datagrams here."""

    RETRY = 0.5

    def __init__(self, stack, timeout=3.0, fallback=None, log=None, on_done=None):
        self.stack = stack
        self.eth = stack.eth0
        self.log = log or (lambda msg: None)
        self.timeout = timeout
        self.fallback = fallback
        self.on_done = on_done or (lambda how: None)
        self.xid = random.getrandbits(32)
        self.state = "INIT"
        self.offer = None
        self.lease = None
        self.done = None            # "dhcp" or "fallback"
        # the socket-like surface the stack's UDP demux uses
        self.laddr = ANY
        self.connected_to = None
        self.reuseaddr = self.reuseport = False
        self.lport, self.queued, self.ino, self.cred = CLIENT_PORT, 0, 0, (0, 0, 0)  # /proc/net/udp
        self._deadline = self._give_up = None

    # ---- lifecycle
    def start(self):
        self.stack.unconfigure(self.eth)
        self.stack.bound[P.IPPROTO_UDP].setdefault(CLIENT_PORT, []).append(self)
        now = self.stack.clock()
        self._give_up = now + self.timeout
        self.state = "SELECTING"
        self._send(DISCOVER)
        self._deadline = now + self.RETRY
        self.stack.schedule(self)
        self.stack.flush()

    def _finish(self, how):
        self.done = how
        self.state = "BOUND" if how == "dhcp" else "FALLBACK"
        self._deadline = None
        self.stack.unbind_port(P.IPPROTO_UDP, self, CLIENT_PORT)
        self.on_done(how)

    # ---- timers (the stack's owners protocol)
    def deadline(self):
        return None if self.done else self._deadline

    def on_timer(self):
        if self.done:
            return
        now = self.stack.clock()
        if now >= self._give_up:
            if self.fallback is not None:
                addr, prefix, router, dns = self.fallback
                self.stack.configure(self.eth, addr, prefix, router, dns)
                self.log(f"dhcp: no answer on {self.eth.name} in {self.timeout:g}s; "
                         f"using {unpack(addr)}/{prefix} via {unpack(router)}")
            else:
                self.log(f"dhcp: no answer on {self.eth.name} in {self.timeout:g}s")
            self._finish("fallback")
            return
        self._send(DISCOVER if self.state == "SELECTING" else REQUEST)
        self._deadline = now + self.RETRY

    # ---- datagrams
    def _send(self, type_):
        opts = {OPT_MSGTYPE: bytes((type_,)),
                OPT_PARAMS: bytes((OPT_SUBNET, OPT_ROUTER, OPT_DNS, OPT_LEASE))}
        if type_ == REQUEST and self.offer is not None:
            opts[OPT_REQUESTED_IP] = self.offer.yiaddr
            sid = self.offer.addr_option(OPT_SERVER_ID)
            if sid is not None:
                opts[OPT_SERVER_ID] = sid
        m = Message(BOOTREQUEST, self.xid, self.eth.mac, opts, flags=0x8000)
        udp = P.build_udp(ANY, BROADCAST, CLIENT_PORT, SERVER_PORT, build(m))
        ip = P.build_ipv4(ANY, BROADCAST, P.IPPROTO_UDP, udp, df=False)
        self.stack.arp.send_frame(P.BROADCAST_MAC, ip)
        self.stack.stats.inc("Udp", "OutDatagrams")

    def deliver(self, src, sport, dst, payload):
        if self.done or sport != SERVER_PORT:
            return
        try:
            m = parse(payload)
        except P.Malformed as e:
            self.stack.stats.drops[e.reason] += 1
            return
        if m.op != BOOTREPLY or m.xid != self.xid or m.chaddr != self.eth.mac:
            self.stack.stats.drops["dhcp_not_ours"] += 1
            return
        t = m.type
        if self.state == "SELECTING" and t == OFFER and m.yiaddr != ANY:
            self.offer = m
            self.state = "REQUESTING"
            self._send(REQUEST)
            self._deadline = self.stack.clock() + self.RETRY
            self.stack.schedule(self)
        elif self.state == "REQUESTING" and t == ACK and m.yiaddr != ANY:
            self._bind(m)
        elif self.state == "REQUESTING" and t == NAK:
            self.offer = None
            self.state = "SELECTING"
            self.xid = random.getrandbits(32)
            self._send(DISCOVER)

    def _bind(self, m):
        mask = m.addr_option(OPT_SUBNET)
        prefix = bin(int.from_bytes(mask, "big")).count("1") if mask else 24
        router = m.addr_option(OPT_ROUTER)
        dns = m.addr_option(OPT_DNS)
        lease = m.options.get(OPT_LEASE)
        self.lease = struct.unpack("!I", lease)[0] if lease and len(lease) == 4 else None
        self.stack.configure(self.eth, m.yiaddr, prefix, router, dns)
        self.log(f"dhcp: {self.eth.name} {unpack(m.yiaddr)}/{prefix}"
                 + (f" via {unpack(router)}" if router else "")
                 + (f", dns {unpack(dns)}" if dns else "")
                 + (f", lease {self.lease}s" if self.lease is not None else ""))
        self._finish("dhcp")


QEMU_DEFAULTS = (pack("10.0.2.15"), 24, pack("10.0.2.2"), pack("10.0.2.3"))
