"""AF_PACKET on eth0 (what busybox udhcpc uses): frames in by protocol and
interface, SOCK_DGRAM sends framed from the sockaddr_ll, SOCK_RAW as is."""
import pytest

from akuma.abi import KernelError
from akuma.abi.errors import EAGAIN
from akuma.net import dhcp as D
from akuma.net import packets as P
from akuma.net import sockaddr
from akuma.net import sockopt as O
from akuma.net.addr import ANY, BROADCAST, pack
from akuma.net.nat import Nat
from akuma.net.packet import ETH_P_ALL, PacketSocket
from akuma.net.socket import Message
from inet_env import Env

HTONS_IP = 0x0008          # htons(ETH_P_IP) as the guest passes it to socket()
ETH0 = 2


def _recv(s, n=2048):
    buf = bytearray(n)
    msg = Message()
    got = s.recvmsg([memoryview(buf)], msg, 0)
    return bytes(buf[:got]), msg


def test_sockaddr_ll_roundtrip():
    addr = (0x0800, ETH0, 1, 1, b"\xff" * 6)
    raw = sockaddr.encode(O.AF_PACKET, addr)
    assert len(raw) == 20
    assert sockaddr.decode(O.AF_PACKET, raw) == addr


def test_dgram_dhcp_exchange_with_the_nat():
    env = Env()
    Nat(env.stack)
    listen = PacketSocket(env.stack, O.SOCK_DGRAM, HTONS_IP)
    listen.bind((0x0800, ETH0, 0, 0, b""))
    arp_only = PacketSocket(env.stack, O.SOCK_DGRAM, 0x0608)       # ETH_P_ARP
    tx = PacketSocket(env.stack, O.SOCK_DGRAM, HTONS_IP)
    m = D.Message(D.BOOTREQUEST, 42, env.stack.eth0.mac, {D.OPT_MSGTYPE: bytes((D.DISCOVER,))},
                  flags=0x8000)
    udp = P.build_udp(ANY, BROADCAST, 68, 67, D.build(m))
    ip = bytes(P.build_ipv4(ANY, BROADCAST, P.IPPROTO_UDP, udp, df=False))
    assert tx.sendmsg([memoryview(ip)], Message(address=(0x0800, ETH0, 1, 0, b"\xff" * 6)),
                      0) == len(ip)
    data, msg = _recv(listen)
    # SOCK_DGRAM: the IP datagram without its Ethernet header, the source in sockaddr_ll
    offer_ip = P.parse_ipv4(data)
    assert offer_ip.src == pack("10.0.2.2") and offer_ip.dst == BROADCAST
    offer = D.parse(P.parse_udp(offer_ip.payload, offer_ip.src, offer_ip.dst).payload)
    assert offer.type == D.OFFER and offer.xid == 42
    assert msg.address == (0x0800, ETH0, 1, 1, b"\x52\x55\x0a\x00\x02\x02")  # PACKET_BROADCAST
    with pytest.raises(KernelError) as e:
        _recv(arp_only)
    assert e.value.errno == EAGAIN


def test_raw_socket_sends_frames_as_is_and_sees_arp():
    env = Env()
    Nat(env.stack)
    s = PacketSocket(env.stack, O.SOCK_RAW, 0x0300)                  # htons(ETH_P_ALL)
    assert s.proto == ETH_P_ALL
    eth = env.stack.eth0
    req = P.Arp(P.ARP_REQUEST, eth.mac, eth.addr, b"\0" * 6, pack("10.0.2.2"))
    frame = bytes(P.build_ethernet(P.BROADCAST_MAC, eth.mac, P.ETH_P_ARP, P.build_arp(req)))
    s.sendmsg([memoryview(frame)], Message(address=(0, ETH0, 0, 0, b"")), 0)
    data, msg = _recv(s)
    dst, src, et, payload = P.parse_ethernet(data)
    reply = P.parse_arp(payload)
    assert et == P.ETH_P_ARP and dst == eth.mac and reply.op == P.ARP_REPLY
    assert reply.spa == pack("10.0.2.2") and msg.address[3] == 0           # PACKET_HOST
    s.close()
    assert s not in env.stack.packet_socks
