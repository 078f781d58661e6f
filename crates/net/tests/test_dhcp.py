"""DHCP: the wire format, the NAT's server (slirp's bootp) with crafted
packets, the kernel's client against the NAT, its fallback, and a fuzz of
the parser (malformed -> dropped and counted, never an exception)."""
import struct

import pytest
from hypothesis import given, settings, strategies as st

from akuma.net import dhcp as D
from akuma.net import packets as P
from akuma.net.addr import ANY, BROADCAST, pack
from akuma.net.nat import Nat
from inet_env import Env, send

MAC = b"\x02\x00\x00\x00\x00\x01"


def request(type_, xid=0x1234, opts=None):
    o = {D.OPT_MSGTYPE: bytes((type_,))}
    o.update(opts or {})
    return D.build(D.Message(D.BOOTREQUEST, xid, MAC, o, flags=0x8000))


class Captured:
    """The frames the NAT puts on the guest's side of eth0."""

    def __init__(self):
        self.env = Env()
        self.nat = Nat(self.env.stack)
        self.frames = []
        self.env.stack.input_frame = self.frames.append

    def dhcp_replies(self):
        out = []
        for f in self.frames:
            dst, src, et, payload = P.parse_ethernet(f)
            ip = P.parse_ipv4(payload)
            u = P.parse_udp(ip.payload, ip.src, ip.dst)
            assert (dst, ip.dst, u.sport, u.dport) == (P.BROADCAST_MAC, BROADCAST, 67, 68)
            out.append(D.parse(u.payload))
        self.frames.clear()
        return out

    def from_guest(self, payload, src=ANY):
        udp = P.build_udp(src, BROADCAST, 68, 67, payload)
        ip = P.build_ipv4(src, BROADCAST, P.IPPROTO_UDP, udp, df=False)
        self.nat.from_guest(P.build_ethernet(P.BROADCAST_MAC, MAC, P.ETH_P_IP, ip))


def test_roundtrip_and_option_concatenation():
    m = D.Message(D.BOOTREPLY, 7, MAC, {D.OPT_MSGTYPE: b"\x02", D.OPT_HOSTNAME: b"x" * 300},
                  yiaddr=pack("10.0.2.15"))
    raw = D.build(m)
    assert len(raw) >= 300
    back = D.parse(raw)
    assert (back.op, back.xid, back.chaddr, back.yiaddr, back.type) == \
        (D.BOOTREPLY, 7, MAC, pack("10.0.2.15"), D.OFFER)
    assert back.options[D.OPT_HOSTNAME] == b"x" * 300      # split in two, rejoined


def test_server_discover_offer_request_ack():
    c = Captured()
    c.from_guest(request(D.DISCOVER, xid=99))
    [offer] = c.dhcp_replies()
    assert offer.type == D.OFFER and offer.xid == 99 and offer.chaddr == MAC
    assert offer.yiaddr == pack("10.0.2.15")
    assert offer.addr_option(D.OPT_ROUTER) == pack("10.0.2.2")
    assert offer.addr_option(D.OPT_DNS) == pack("10.0.2.3")
    assert offer.addr_option(D.OPT_SUBNET) == pack("255.255.255.0")
    assert offer.addr_option(D.OPT_SERVER_ID) == pack("10.0.2.2")
    assert struct.unpack("!I", offer.options[D.OPT_LEASE])[0] == D.LEASE_TIME
    c.from_guest(request(D.REQUEST, xid=99, opts={D.OPT_REQUESTED_IP: pack("10.0.2.15"),
                                               D.OPT_SERVER_ID: pack("10.0.2.2")}))
    [ack] = c.dhcp_replies()
    assert ack.type == D.ACK and ack.yiaddr == pack("10.0.2.15")
    assert c.nat.dhcp.leases[MAC] == pack("10.0.2.15")


def test_server_naks_another_address_and_ignores_other_servers():
    c = Captured()
    c.from_guest(request(D.REQUEST, opts={D.OPT_REQUESTED_IP: pack("10.0.2.99")}))
    [nak] = c.dhcp_replies()
    assert nak.type == D.NAK and nak.yiaddr == ANY
    c.from_guest(request(D.REQUEST, opts={D.OPT_REQUESTED_IP: pack("10.0.2.15"),
                                       D.OPT_SERVER_ID: pack("10.0.2.77")}))
    assert c.dhcp_replies() == []


@pytest.mark.parametrize("raw,reason", [
    (b"\x01" * 100, "dhcp_short"),
    (b"\x03" + request(D.DISCOVER)[1:], "dhcp_op"),
    (request(D.DISCOVER)[:236] + b"XXXX" + request(D.DISCOVER)[240:], "dhcp_magic"),
    (request(D.DISCOVER)[:240] + b"\x35\x05\x01", "dhcp_option_len"),
    (request(D.DISCOVER)[:240] + b"\x35\x01\x01", "dhcp_no_end"),
    (request(D.DISCOVER)[:240] + b"\x35\x01\x63\xff", "dhcp_msgtype"),
])
def test_server_drops_and_counts_malformed(raw, reason):
    c = Captured()
    c.from_guest(raw)
    assert c.dhcp_replies() == []
    assert c.env.stack.stats.drops[reason] == 1


def _client(env, timeout=3.0):
    logs = []
    done = []
    client = D.Client(env.stack, timeout=timeout, fallback=D.QEMU_DEFAULTS, log=logs.append,
                      on_done=done.append)
    return client, logs, done


def test_client_configures_eth0_from_the_nat():
    env = Env()
    Nat(env.stack)
    eth = env.stack.eth0
    client, logs, done = _client(env)
    seen = []
    real_link = eth.link
    eth.link = lambda frame: (seen.append(eth.addr), real_link(frame))
    client.start()
    assert seen and seen[0] == ANY                  # unconfigured while asking
    assert done == ["dhcp"] and client.state == "BOUND" and client.lease == D.LEASE_TIME
    assert eth.addr == pack("10.0.2.15") and eth.prefix == 24
    assert env.stack.gateway == pack("10.0.2.2") and env.stack.dns == pack("10.0.2.3")
    assert env.stack.route(pack("93.184.216.34")) == (eth, pack("10.0.2.2"))
    assert env.stack.route(pack("10.0.2.3")) == (eth, pack("10.0.2.3"))
    assert any("10.0.2.15/24" in line for line in logs)
    assert 68 not in env.stack.bound[P.IPPROTO_UDP]
    # eth0 works afterwards: a datagram to the gateway leaves eth0 (after
    # ARP, which the NAT answers) with the leased source address.
    out = []
    eth.link = lambda frame: (out.append(frame), real_link(frame))
    s = env.sock(2)
    send(s, b"hi", address=("10.0.2.2", 9))
    env.stack.flush()
    ips = [P.parse_ipv4(p) for _, _, et, p in map(P.parse_ethernet, out) if et == P.ETH_P_IP]
    assert [(ip.src, ip.dst) for ip in ips] == [(pack("10.0.2.15"), pack("10.0.2.2"))]


def test_client_falls_back_without_an_answer():
    env = Env()
    sent = []
    env.stack.eth0.link = sent.append                # nobody answers
    client, logs, done = _client(env, timeout=2.0)
    client.start()
    assert env.stack.eth0.addr == ANY and env.stack.route(pack("10.0.2.2")) is None
    env.advance(1.0)
    assert done == []
    env.advance(1.5)
    assert done == ["fallback"] and env.stack.eth0.addr == pack("10.0.2.15")
    assert env.stack.route(pack("8.8.8.8")) == (env.stack.eth0, pack("10.0.2.2"))
    assert any("no answer" in line for line in logs)
    assert len(sent) >= 3                             # DISCOVER retransmitted


def test_client_ignores_replies_for_another_transaction():
    env = Env()
    env.stack.eth0.link = lambda f: None
    client, logs, done = _client(env)
    client.start()
    bogus = D.Message(D.BOOTREPLY, client.xid ^ 1, env.stack.eth0.mac,
                      {D.OPT_MSGTYPE: bytes((D.ACK,))}, yiaddr=pack("10.0.2.99"))
    udp = P.build_udp(pack("10.0.2.2"), BROADCAST, 67, 68, D.build(bogus))
    ip = P.build_ipv4(pack("10.0.2.2"), BROADCAST, P.IPPROTO_UDP, udp)
    env.stack.input_frame(P.build_ethernet(P.BROADCAST_MAC, b"\x52\x55\x0a\x00\x02\x02",
                                           P.ETH_P_IP, ip))
    env.stack.flush()
    assert done == [] and env.stack.eth0.addr == ANY
    assert env.stack.stats.drops["dhcp_not_ours"] == 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.data())
def test_fuzz_parser_drops_and_counts(noise, data):
    """Random bytes, and valid messages with a mutated tail: either a
    message or Malformed, and the server never raises or answers junk."""
    base = request(D.DISCOVER)
    cut = data.draw(st.integers(0, len(base)))
    for raw in (noise, base[:cut] + noise):
        try:
            m = D.parse(raw)
            reason = None
        except P.Malformed as e:
            reason = e.reason
            assert reason.startswith("dhcp_")
        else:
            assert m.op in (D.BOOTREQUEST, D.BOOTREPLY)
        c = Captured()
        c.from_guest(raw)
        replies = c.dhcp_replies()
        if reason is not None:
            assert replies == [] and c.env.stack.stats.drops[reason] == 1
        else:
            assert all(r.type in (D.OFFER, D.ACK, D.NAK) for r in replies)
            assert len(replies) <= 1


def test_proc_net_udp_shows_the_client_while_it_asks():
    from akuma.net.procnet import render_udp
    env = Env()
    env.stack.eth0.link = lambda f: None
    client, logs, done = _client(env)
    client.start()
    assert ":0044 " in render_udp(env.stack).decode()        # 0.0.0.0:68
