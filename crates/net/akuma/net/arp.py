"""ARP (RFC 826) for eth0: a cache of IPv4 -> MAC, with packets held while
a request is outstanding (bounded), answered requests for our address."""
from akuma.net.packets import (ARP_REPLY, ARP_REQUEST, BROADCAST_MAC, ETH_P_ARP, Arp,
                               build_arp, build_ethernet)

ARP_TIMEOUT = 60.0
MAX_HELD = 32


class ArpTable:
    def __init__(self, clock, iface):
        self.clock = clock
        self.iface = iface
        self.cache = {}          # ip -> (mac, expiry)
        self.held = {}           # ip -> [ip packets waiting]

    def lookup(self, ip):
        entry = self.cache.get(ip)
        if entry is not None and entry[1] > self.clock():
            return entry[0]
        return None

    def learn(self, ip, mac):
        self.cache[ip] = (mac, self.clock() + ARP_TIMEOUT)
        for packet in self.held.pop(ip, ()):
            self.send_frame(mac, packet)

    def send(self, next_hop, packet):
        mac = self.lookup(next_hop)
        if mac is not None:
            self.send_frame(mac, packet)
            return
        queue = self.held.setdefault(next_hop, [])
        if len(queue) < MAX_HELD:
            queue.append(packet)
        if len(queue) == 1:
            self._request(next_hop)

    def send_frame(self, mac, packet, ethertype=0x0800):
        frame = build_ethernet(mac, self.iface.mac, ethertype, packet)
        self.iface.count_tx(len(frame))
        if self.iface.link is not None:
            self.iface.link(frame)

    def _request(self, ip):
        a = Arp(ARP_REQUEST, self.iface.mac, self.iface.addr, b"\0" * 6, ip)
        self.send_frame(BROADCAST_MAC, build_arp(a), ETH_P_ARP)

    def input(self, a):
        if a.spa != b"\0\0\0\0":
            if a.spa in self.cache or a.tpa == self.iface.addr:
                self.learn(a.spa, a.sha)
        if a.op == ARP_REQUEST and a.tpa == self.iface.addr:
            reply = Arp(ARP_REPLY, self.iface.mac, self.iface.addr, a.sha, a.spa)
            self.send_frame(a.sha, build_arp(reply), ETH_P_ARP)
