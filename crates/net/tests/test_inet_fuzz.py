"""Every parser and the whole input path: arbitrary bytes never raise
anything but Malformed, and the stack counts what it drops."""
from hypothesis import given, settings, strategies as st

from akuma.net import packets as P
from akuma.net.addr import pack
from inet_env import Env

SRC, DST = pack("10.0.2.2"), pack("10.0.2.15")
PARSERS = [P.parse_ethernet, P.parse_arp, P.parse_ipv4, P.parse_icmp,
           lambda d: P.parse_udp(d, SRC, DST), lambda d: P.parse_tcp(d, SRC, DST),
           lambda d: P.parse_udp(d, SRC, DST, verify=False),
           lambda d: P.parse_tcp(d, SRC, DST, verify=False)]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_parsers_raise_only_malformed(data):
    for parse in PARSERS:
        try:
            parse(data)
        except P.Malformed as e:
            assert e.reason


def _tcp_frame(seg_bytes):
    ip = P.build_ipv4(SRC, DST, P.IPPROTO_TCP, seg_bytes)
    return P.build_ethernet(b"\x52\x54\x00\x12\x34\x56", b"\x52\x55\x0a\x00\x02\x02", 0x800, ip)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=20, max_size=80), st.binary(max_size=40))
def test_tcp_with_random_header_and_options_never_escapes(hdr, opts):
    env = Env()
    srv = env.sock(1)
    srv.bind(("0.0.0.0", 80))
    srv.listen(4)
    b = bytearray(hdr)
    b[2:4] = (80).to_bytes(2, "big")
    b[12] = (min(15, 5 + len(opts) // 4)) << 4
    seg = bytes(b[:20]) + opts[:len(opts) // 4 * 4] + bytes(b[20:])
    raw = bytearray(seg)
    from akuma.net.checksum import csum_partial, pseudo_header_sum
    raw[16:18] = b"\0\0"
    c = (~csum_partial(raw, pseudo_header_sum(SRC, DST, 6, len(raw)))) & 0xFFFF
    raw[16:18] = c.to_bytes(2, "big")
    env.stack.input_frame(_tcp_frame(bytes(raw)))
    env.stack.flush()
    env.advance(5)
    assert env.stack.stats.drops["internal"] == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_frames_are_dropped_and_counted(data):
    env = Env()
    env.stack.input_frame(b"\x52\x54\x00\x12\x34\x56" + b"\x00" * 6 + b"\x08\x00" + data)
    env.stack.input_frame(data)
    env.stack.flush()
    assert env.stack.stats.drops["internal"] == 0


def test_bad_checksums_are_counted_in_snmp():
    env = Env()
    u = P.build_udp(SRC, DST, 1, 2, b"x")
    u[6] ^= 0xFF
    ip = P.build_ipv4(SRC, DST, P.IPPROTO_UDP, u)
    env.stack.input_frame(P.build_ethernet(env.stack.eth0.mac, b"\0" * 6, 0x800, ip))
    bad_ip = P.build_ipv4(SRC, DST, P.IPPROTO_UDP, P.build_udp(SRC, DST, 1, 2, b"x"))
    bad_ip[10] ^= 1
    env.stack.input_frame(P.build_ethernet(env.stack.eth0.mac, b"\0" * 6, 0x800, bad_ip))
    env.stack.flush()
    snmp = env.stack.stats.snmp
    assert snmp["Udp"]["InCsumErrors"] == 1 and snmp["Ip"]["InHdrErrors"] == 1
    text = env.stack.stats.render_snmp().decode()
    assert "Udp: InDatagrams NoPorts InErrors" in text


def test_fragments_reassemble_and_overlaps_are_dropped():
    env = Env()
    s = env.sock(2)
    s.bind(("0.0.0.0", 53))
    payload = P.build_udp(SRC, DST, 9, 53, bytes(range(200)) * 10)
    for off in range(0, len(payload), 1480):
        piece = payload[off:off + 1480]
        ip = P.build_ipv4(SRC, DST, P.IPPROTO_UDP, piece, ident=77, df=False,
                          mf=off + 1480 < len(payload), frag_off=off)
        env.stack.input_frame(P.build_ethernet(env.stack.eth0.mac, b"\0" * 6, 0x800, ip))
    env.stack.flush()
    assert s.fionread() == 2000
    assert env.stack.stats.snmp["Ip"]["ReasmOKs"] == 1
    a = P.build_ipv4(SRC, DST, P.IPPROTO_UDP, bytes(16), ident=78, df=False, mf=True)
    b = P.build_ipv4(SRC, DST, P.IPPROTO_UDP, bytes(16), ident=78, df=False, frag_off=8)
    for ip in (a, b):
        env.stack.input_frame(P.build_ethernet(env.stack.eth0.mac, b"\0" * 6, 0x800, ip))
    env.stack.flush()
    assert env.stack.stats.snmp["Ip"]["ReasmFails"] == 1
