"""Network interfaces: an address, an MTU and counters (/proc/net/dev).
``lo`` hands packets straight back to the stack; ``eth0`` frames them in
Ethernet and gives them to its link (the user-mode NAT)."""
from akuma.net.addr import pack


class Interface:
    def __init__(self, name, addr, prefix, mtu, mac=b"\0" * 6):
        self.name = name
        self.addr = pack(addr)
        self.prefix = prefix
        self.mtu = mtu
        self.mac = mac
        self.up = True
        self.link = None               # eth0: callable(frame) -> None
        self.rx_bytes = self.rx_packets = self.rx_errors = self.rx_dropped = 0
        self.tx_bytes = self.tx_packets = self.tx_errors = self.tx_dropped = 0

    def count_rx(self, n):
        self.rx_packets += 1
        self.rx_bytes += n

    def count_tx(self, n):
        self.tx_packets += 1
        self.tx_bytes += n


def render_dev(ifaces):
    lines = ["Inter-|   Receive                                                |  Transmit",
             " face |bytes    packets errs drop fifo frame compressed multicast|"
             "bytes    packets errs drop fifo colls carrier compressed"]
    for i in ifaces:
        lines.append(f"{i.name:>6}: {i.rx_bytes:>7} {i.rx_packets:>7} {i.rx_errors:>4} "
                     f"{i.rx_dropped:>4}    0     0          0         0 {i.tx_bytes:>8} "
                     f"{i.tx_packets:>7} {i.tx_errors:>4} {i.tx_dropped:>4}    0     0       0"
                     f"          0")
    return ("\n".join(lines) + "\n").encode()
