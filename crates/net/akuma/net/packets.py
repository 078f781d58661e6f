"""Wire formats: parse and build Ethernet, ARP, IPv4, ICMP, UDP and TCP.

Every parser takes bytes from the wire and either returns a small record or
raises ``Malformed(reason)``; nothing else may escape (the fuzz tests hold
them to it).  The caller drops the packet and counts ``reason``.  Checksums
are verified by the layer that knows the pseudo-header (ipv4, udp, tcp)."""
import struct

from akuma.net.checksum import checksum, csum_partial, pseudo_header_sum


class Malformed(Exception):
    """A packet that cannot be parsed; ``reason`` names the counter."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_HLEN = 14
BROADCAST_MAC = b"\xff" * 6

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17

# TCP flags
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 16, 32, 64, 128

_ETH = struct.Struct("!6s6sH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")
_IP = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")
_TCP = struct.Struct("!HHIIBBHHH")
_ICMP = struct.Struct("!BBHHH")


# -- Ethernet ------------------------------------------------------------------------------
def parse_ethernet(frame):
    if len(frame) < ETH_HLEN:
        raise Malformed("eth_short")
    dst, src, ethertype = _ETH.unpack_from(frame)
    return dst, src, ethertype, memoryview(frame)[ETH_HLEN:]


def build_ethernet(dst, src, ethertype, payload):
    return _ETH.pack(dst, src, ethertype) + bytes(payload)


# -- ARP -------------------------------------------------------------------------------------
ARP_REQUEST, ARP_REPLY = 1, 2


class Arp:
    __slots__ = ("op", "sha", "spa", "tha", "tpa")

    def __init__(self, op, sha, spa, tha, tpa):
        self.op, self.sha, self.spa, self.tha, self.tpa = op, sha, spa, tha, tpa


def parse_arp(data):
    if len(data) < _ARP.size:
        raise Malformed("arp_short")
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(data)
    if htype != 1 or ptype != ETH_P_IP or hlen != 6 or plen != 4:
        raise Malformed("arp_format")
    if op not in (ARP_REQUEST, ARP_REPLY):
        raise Malformed("arp_op")
    return Arp(op, sha, spa, tha, tpa)


def build_arp(a):
    return _ARP.pack(1, ETH_P_IP, 6, 4, a.op, a.sha, a.spa, a.tha, a.tpa)


# -- IPv4 -------------------------------------------------------------------------------------
IP_MF = 0x2000
IP_DF = 0x4000
IP_OFFMASK = 0x1FFF


class IPv4:
    __slots__ = ("tos", "ident", "flags", "frag_off", "ttl", "proto", "src", "dst",
                 "header", "payload")

    @property
    def is_fragment(self):
        return bool(self.flags & 1) or self.frag_off != 0

    @property
    def more_fragments(self):
        return bool(self.flags & 1)


def parse_ipv4(data, verify=True):
    """An IPv4 header and its payload (trimmed to the total length)."""
    n = len(data)
    if n < 20:
        raise Malformed("ip_short")
    vihl, tos, total, ident, fragw, ttl, proto, _csum, src, dst = _IP.unpack_from(data)
    if vihl >> 4 != 4:
        raise Malformed("ip_version")
    ihl = (vihl & 15) * 4
    if ihl < 20 or ihl > n:
        raise Malformed("ip_hdr_len")
    if total < ihl or total > n:
        raise Malformed("ip_total_len")
    if fragw & 0x8000:
        raise Malformed("ip_reserved_flag")
    mv = memoryview(data)
    if verify and checksum(mv[:ihl]) != 0:
        raise Malformed("ip_checksum")
    p = IPv4()
    p.tos, p.ident, p.ttl, p.proto, p.src, p.dst = tos, ident, ttl, proto, src, dst
    p.flags = 1 if fragw & IP_MF else 0
    p.flags |= 2 if fragw & IP_DF else 0
    p.frag_off = (fragw & IP_OFFMASK) * 8
    p.header = mv[:ihl]
    p.payload = mv[ihl:total]
    return p


def build_ipv4(src, dst, proto, payload, ttl=64, ident=0, df=True, tos=0,
               mf=False, frag_off=0):
    total = 20 + len(payload)
    fragw = (IP_DF if df else 0) | (IP_MF if mf else 0) | (frag_off // 8)
    hdr = bytearray(_IP.pack(0x45, tos, total, ident & 0xFFFF, fragw, ttl, proto, 0, src, dst))
    c = checksum(hdr)
    hdr[10] = c >> 8
    hdr[11] = c & 0xFF
    hdr += payload
    return hdr


# -- ICMP ---------------------------------------------------------------------------------------
ICMP_ECHOREPLY, ICMP_DEST_UNREACH, ICMP_ECHO, ICMP_TIME_EXCEEDED = 0, 3, 8, 11


class Icmp:
    __slots__ = ("type", "code", "ident", "seq", "payload")


def parse_icmp(data):
    if len(data) < 8:
        raise Malformed("icmp_short")
    if checksum(data) != 0:
        raise Malformed("icmp_checksum")
    m = Icmp()
    m.type, m.code, _c, m.ident, m.seq = _ICMP.unpack_from(data)
    m.payload = memoryview(data)[8:]
    return m


def build_icmp(type_, code, ident, seq, payload):
    b = bytearray(_ICMP.pack(type_, code, 0, ident, seq))
    b += payload
    c = checksum(b)
    b[2] = c >> 8
    b[3] = c & 0xFF
    return b


# -- UDP -------------------------------------------------------------------------------------------
class Udp:
    __slots__ = ("sport", "dport", "payload")


def parse_udp(data, src, dst, verify=True):
    n = len(data)
    if n < 8:
        raise Malformed("udp_short")
    sport, dport, length, csum = _UDP.unpack_from(data)
    if length < 8 or length > n:
        raise Malformed("udp_len")
    mv = memoryview(data)[:length]
    if verify and csum != 0:
        if (~csum_partial(mv, pseudo_header_sum(src, dst, IPPROTO_UDP, length))) & 0xFFFF:
            raise Malformed("udp_checksum")
    u = Udp()
    u.sport, u.dport, u.payload = sport, dport, mv[8:]
    return u


def build_udp(src, dst, sport, dport, payload):
    length = 8 + len(payload)
    b = bytearray(_UDP.pack(sport, dport, length, 0))
    b += payload
    c = (~csum_partial(b, pseudo_header_sum(src, dst, IPPROTO_UDP, length))) & 0xFFFF
    c = c or 0xFFFF            # zero means "no checksum" in UDP
    b[6] = c >> 8
    b[7] = c & 0xFF
    return b


# -- TCP ------------------------------------------------------------------------------------------
class Segment:
    """A TCP segment as the state machine sees it (addresses live outside)."""
    __slots__ = ("sport", "dport", "seq", "ack", "flags", "window", "mss", "wscale",
                 "sack_ok", "sack", "tsval", "tsecr", "payload")

    def __init__(self, sport=0, dport=0, seq=0, ack=0, flags=0, window=0, payload=b"",
                 mss=None, wscale=None, sack_ok=False, tsval=None, tsecr=0, sack=()):
        self.sport, self.dport, self.seq, self.ack = sport, dport, seq, ack
        self.flags, self.window, self.payload = flags, window, payload
        self.mss, self.wscale, self.sack_ok = mss, wscale, sack_ok
        self.tsval, self.tsecr, self.sack = tsval, tsecr, sack

    @property
    def seg_len(self):
        """Sequence space used: data plus one each for SYN and FIN."""
        return len(self.payload) + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)

    def __repr__(self):
        names = "".join(c for bit, c in ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"), (ACK, "."))
                        if self.flags & bit)
        return f"<{self.sport}>{self.dport} [{names}] seq={self.seq} ack={self.ack} " \
               f"win={self.window} len={len(self.payload)}>"


def _parse_tcp_options(opts, seg):
    i, n = 0, len(opts)
    while i < n:
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= n:
            raise Malformed("tcp_option")
        olen = opts[i + 1]
        if olen < 2 or i + olen > n:
            raise Malformed("tcp_option")
        if kind == 2:
            if olen != 4:
                raise Malformed("tcp_option")
            seg.mss = (opts[i + 2] << 8) | opts[i + 3]
        elif kind == 3:
            if olen != 3:
                raise Malformed("tcp_option")
            seg.wscale = min(opts[i + 2], 14)     # RFC 7323: clamp, don't reject
        elif kind == 4:
            if olen != 2:
                raise Malformed("tcp_option")
            seg.sack_ok = True
        elif kind == 5:
            if (olen - 2) % 8:
                raise Malformed("tcp_option")
            seg.sack = tuple(struct.unpack_from("!II", opts, j)
                             for j in range(i + 2, i + olen, 8))
        elif kind == 8:
            if olen != 10:
                raise Malformed("tcp_option")
            seg.tsval, seg.tsecr = struct.unpack_from("!II", opts, i + 2)
        i += olen     # unknown kinds are skipped by their length


def parse_tcp(data, src, dst, verify=True):
    n = len(data)
    if n < 20:
        raise Malformed("tcp_short")
    sport, dport, seq, ack, off, flags, window, csum, _urg = _TCP.unpack_from(data)
    hlen = (off >> 4) * 4
    if hlen < 20 or hlen > n:
        raise Malformed("tcp_hdr_len")
    if verify and (~csum_partial(data, pseudo_header_sum(src, dst, IPPROTO_TCP, n))) & 0xFFFF:
        raise Malformed("tcp_checksum")
    seg = Segment(sport, dport, seq, ack, flags, window)
    if hlen > 20:
        _parse_tcp_options(bytes(data[20:hlen]), seg)
    seg.payload = memoryview(data)[hlen:]
    return seg


def tcp_options(seg):
    """The option bytes for ``seg`` (padded to a multiple of 4)."""
    o = bytearray()
    if seg.mss is not None:
        o += struct.pack("!BBH", 2, 4, seg.mss)
    if seg.wscale is not None:
        o += struct.pack("!BBBB", 1, 3, 3, seg.wscale)
    if seg.sack_ok:
        o += b"\x01\x01\x04\x02"
    if seg.tsval is not None:
        o += struct.pack("!BBBBII", 1, 1, 8, 10, seg.tsval & 0xFFFFFFFF, seg.tsecr & 0xFFFFFFFF)
    if seg.sack:
        blocks = seg.sack[:3]
        o += struct.pack("!BBBB", 1, 1, 5, 2 + 8 * len(blocks))
        for left, right in blocks:
            o += struct.pack("!II", left & 0xFFFFFFFF, right & 0xFFFFFFFF)
    while len(o) % 4:
        o += b"\x00"
    return o


def build_tcp(src, dst, seg, checksummed=True):
    opts = tcp_options(seg)
    hlen = 20 + len(opts)
    b = bytearray(_TCP.pack(seg.sport, seg.dport, seg.seq & 0xFFFFFFFF, seg.ack & 0xFFFFFFFF,
                            (hlen // 4) << 4, seg.flags, min(seg.window, 0xFFFF), 0, 0))
    b += opts
    b += seg.payload
    if checksummed:
        c = (~csum_partial(b, pseudo_header_sum(src, dst, IPPROTO_TCP, len(b)))) & 0xFFFF
        b[16] = c >> 8
        b[17] = c & 0xFF
    return b
