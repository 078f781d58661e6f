"""The stack's counters, named and laid out as Linux's /proc/net/snmp.

Drops of malformed input are counted twice: under the SNMP field Linux
uses (InHdrErrors, InCsumErrors, InErrs...) and by reason in ``drops``
(eth_short, tcp_option, ...), which /proc/net/netstat-like tools and the
tests read."""
from collections import Counter

_FIELDS = {
    "Ip": ["Forwarding", "DefaultTTL", "InReceives", "InHdrErrors", "InAddrErrors",
           "ForwDatagrams", "InUnknownProtos", "InDiscards", "InDelivers", "OutRequests",
           "OutDiscards", "OutNoRoutes", "ReasmTimeout", "ReasmReqds", "ReasmOKs",
           "ReasmFails", "FragOKs", "FragFails", "FragCreates"],
    "Icmp": ["InMsgs", "InErrors", "InCsumErrors", "InDestUnreachs", "InTimeExcds",
             "InEchos", "InEchoReps", "OutMsgs", "OutErrors", "OutDestUnreachs",
             "OutTimeExcds", "OutEchos", "OutEchoReps"],
    "Tcp": ["RtoAlgorithm", "RtoMin", "RtoMax", "MaxConn", "ActiveOpens", "PassiveOpens",
            "AttemptFails", "EstabResets", "CurrEstab", "InSegs", "OutSegs", "RetransSegs",
            "InErrs", "OutRsts", "InCsumErrors"],
    "Udp": ["InDatagrams", "NoPorts", "InErrors", "OutDatagrams", "RcvbufErrors",
            "SndbufErrors", "InCsumErrors", "IgnoredMulti", "MemErrors"],
}

# Which SNMP counter a parse failure reason increments.
_REASON_FIELD = {
    "ip_checksum": ("Ip", "InHdrErrors"), "ip_short": ("Ip", "InHdrErrors"),
    "ip_version": ("Ip", "InHdrErrors"), "ip_hdr_len": ("Ip", "InHdrErrors"),
    "ip_total_len": ("Ip", "InHdrErrors"), "ip_reserved_flag": ("Ip", "InHdrErrors"),
    "ip_ttl": ("Ip", "InHdrErrors"), "ip_reasm": ("Ip", "ReasmFails"),
    "icmp_short": ("Icmp", "InErrors"), "icmp_checksum": ("Icmp", "InCsumErrors"),
    "udp_short": ("Udp", "InErrors"), "udp_len": ("Udp", "InErrors"),
    "udp_checksum": ("Udp", "InCsumErrors"),
    "tcp_short": ("Tcp", "InErrs"), "tcp_hdr_len": ("Tcp", "InErrs"),
    "tcp_option": ("Tcp", "InErrs"), "tcp_checksum": ("Tcp", "InCsumErrors"),
}


class Stats:
    def __init__(self):
        self.snmp = {group: Counter() for group in _FIELDS}
        self.snmp["Ip"]["Forwarding"] = 2
        self.snmp["Ip"]["DefaultTTL"] = 64
        self.snmp["Tcp"].update(RtoAlgorithm=1, RtoMin=200, RtoMax=120000, MaxConn=-1)
        self.drops = Counter()
        self.curr_estab = lambda: 0     # the stack counts its live connections

    def inc(self, group, field, n=1):
        self.snmp[group][field] += n

    def drop(self, reason):
        self.drops[reason] += 1
        where = _REASON_FIELD.get(reason)
        if where is not None:
            self.snmp[where[0]][where[1]] += 1
            if where[1] == "InCsumErrors" and where[0] != "Icmp":
                self.snmp[where[0]]["InErrs" if where[0] == "Tcp" else "InErrors"] += 1

    def render_snmp(self):
        out = []
        for group, fields in _FIELDS.items():
            c = self.snmp[group]
            if group == "Tcp":
                c["CurrEstab"] = self.curr_estab()
            out.append(f"{group}: " + " ".join(fields))
            out.append(f"{group}: " + " ".join(str(c[f]) for f in fields))
        return ("\n".join(out) + "\n").encode()
