"""/proc/net/{tcp,udp,dev,snmp,route}: the stack's state in Linux's exact
layouts, which busybox netstat, route, ifconfig and ip parse by column."""
from akuma.net import packets as P
from akuma.net.tcp import tcb as T

# Linux pads every /proc/net/tcp line to 149 columns and udp's to 127.
_TCP_WIDTH, _UDP_WIDTH = 149, 127
_TCP_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
               "retrnsmt   uid  timeout inode")
_UDP_HEADER = ("   sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
               "retrnsmt   uid  timeout inode ref pointer drops")
_UDP_UNCONNECTED, _UDP_CONNECTED = 7, 1       # TCP_CLOSE / TCP_ESTABLISHED


def _endpoint(addr, port):
    # The address as the kernel's native (little-endian) u32, the port as a number.
    return f"{int.from_bytes(addr, 'little'):08X}:{port:04X}"


def _uid(sock):
    return sock.cred[1] if getattr(sock, "cred", None) else 0


def _tcp_sockets(stack):
    """Listeners first, then connections, each once (Linux's hash order)."""
    seen, out = set(), []
    for socks in stack.bound[P.IPPROTO_TCP].values():
        for s in socks:
            if s.listening and id(s) not in seen:
                seen.add(id(s))
                out.append(s)
    for s in stack.tcp_conns.values():
        if id(s) not in seen and s.tcb is not None:
            seen.add(id(s))
            out.append(s)
    return out


def render_tcp(stack):
    lines = [_TCP_HEADER.ljust(_TCP_WIDTH)]
    for n, s in enumerate(_tcp_sockets(stack)):
        t = s.tcb
        if s.listening:
            st, txq, rxq = T.STATE_NUMBER[T.LISTEN], 0, len(s.accept_queue)
            remote = _endpoint(b"\0\0\0\0", 0)
        else:
            st = T.STATE_NUMBER[t.state]
            txq, rxq = t.unacked() if t.state != T.CLOSED else 0, t.recv_available()
            remote = _endpoint(s.raddr, s.rport)
        timer = 1 if t is not None and t.t_rtx is not None else 0
        line = (f"{n:4d}: {_endpoint(s.laddr, s.lport)} {remote} {st:02X} "
                f"{txq & 0xFFFFFFFF:08X}:{rxq:08X} {timer:02X}:00000000 00000000 "
                f"{_uid(s):5d} {0:8d} {s.ino} 1 0000000000000000 100 0 0 10 0")
        lines.append(line.ljust(_TCP_WIDTH))
    return ("\n".join(lines) + "\n").encode()


def render_udp(stack):
    lines = [_UDP_HEADER.ljust(_UDP_WIDTH)]
    n = 0
    for socks in stack.bound[P.IPPROTO_UDP].values():
        for s in socks:
            peer = s.connected_to
            remote = _endpoint(*peer) if peer else _endpoint(b"\0\0\0\0", 0)
            st = _UDP_CONNECTED if peer else _UDP_UNCONNECTED
            line = (f"{n:5d}: {_endpoint(s.laddr, s.lport)} {remote} {st:02X} "
                    f"00000000:{s.queued:08X} 00:00000000 00000000 {_uid(s):5d} {0:8d} "
                    f"{s.ino} 2 0000000000000000 0")
            lines.append(line.ljust(_UDP_WIDTH))
            n += 1
    return ("\n".join(lines) + "\n").encode()


# No IPv6 sockets exist; the files are there (header only) so tools that
# read both families (busybox netstat) do not warn.
_TCP6_HEADER = ("  sl  local_address                         remote_address                        "
                "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode")
_UDP6_HEADER = ("  sl  local_address                         remote_address                        "
                "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops")


def install(procfs, kernel):
    """Add /proc/net's files; the stack is attached on first read."""
    from akuma.net import service

    def stack():
        return service.attach(kernel).stack
    procfs.add_file(b"net/tcp", lambda: render_tcp(stack()))
    procfs.add_file(b"net/udp", lambda: render_udp(stack()))
    procfs.add_file(b"net/tcp6", lambda: (_TCP6_HEADER + "\n").encode())
    procfs.add_file(b"net/udp6", lambda: (_UDP6_HEADER + "\n").encode())
    procfs.add_file(b"net/dev", lambda: stack().render_dev())
    procfs.add_file(b"net/snmp", lambda: stack().stats.render_snmp())
    procfs.add_file(b"net/route", lambda: stack().routes.render())
