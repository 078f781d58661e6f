"""The routing table: longest-prefix match over (network, prefix, gateway,
interface), shown as /proc/net/route."""
from akuma.net.addr import ANY, in_subnet


class Route:
    __slots__ = ("net", "prefix", "gateway", "iface", "metric")

    def __init__(self, net, prefix, gateway, iface, metric=0):
        self.net, self.prefix, self.gateway, self.iface, self.metric = \
            net, prefix, gateway, iface, metric


class RoutingTable:
    def __init__(self):
        self.routes = []

    def add(self, net, prefix, gateway, iface, metric=0):
        self.routes.append(Route(net, prefix, gateway, iface, metric))
        self.routes.sort(key=lambda r: (-r.prefix, r.metric))

    def lookup(self, dst):
        """(interface, next hop) for ``dst``, or None."""
        for r in self.routes:
            if in_subnet(dst, r.net, r.prefix):
                return r.iface, (r.gateway if r.gateway != ANY else dst)
        return None

    def render(self):
        """/proc/net/route: little-endian hex as Linux prints it."""
        lines = ["Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"]
        for r in self.routes:
            if r.iface.name == "lo":
                continue                  # Linux keeps lo's routes in the local table
            mask = (0xFFFFFFFF << (32 - r.prefix)) & 0xFFFFFFFF if r.prefix else 0
            flags = 0x1 | (0x2 if r.gateway != ANY else 0)
            le = lambda b: f"{int.from_bytes(b, 'little'):08X}"
            lines.append(f"{r.iface.name}\t{le(r.net)}\t{le(r.gateway)}\t{flags:04X}\t0\t0\t"
                         f"{r.metric}\t{le(mask.to_bytes(4, 'big'))}\t0\t0\t0")
        return ("\n".join(lines) + "\n").encode()
