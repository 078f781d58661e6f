"""UDP through the user-mode NAT: guest datagrams to 10.0.2.2 or the outside
leave through one non-blocking host socket per (guest port, destination),
replies come back from the destination; DNS to 10.0.2.3:53 is relayed to
the host's resolver; UDP port forwards bring host datagrams in.  Every
binding is freed after a quiet period, like slirp's."""
import os
import socket
import time

UDP_IDLE = 120.0           # seconds a quiet binding lives (slirp: 240)
DNS_IDLE = 10.0            # a relayed query's binding: long enough for retries
MAX_DATAGRAM = 65507


def dns_upstream(resolv_conf="/etc/resolv.conf"):
    """Where guest DNS queries go: $AKUMA_DNS_UPSTREAM (ADDR[:PORT]) or the
    host's first IPv4 nameserver; None when the host has none."""
    override = os.environ.get("AKUMA_DNS_UPSTREAM")
    if override:
        host, _, port = override.partition(":")
        return host, int(port or 53)
    try:
        with open(resolv_conf) as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    try:
                        socket.inet_aton(words[1])
                    except OSError:
                        continue           # IPv6: the relay's host socket is IPv4
                    return words[1], 53
    except OSError:
        pass
    return None


class UdpBinding:
    """Shared by both directions: idle expiry and host-socket readiness."""
    idle = UDP_IDLE

    def __init__(self, nat, key, idle=None):
        self.nat = nat
        self.key = key             # (guest port, remote addr as the guest sees it, remote port)
        self.idle = idle or self.idle
        self.closed = False
        self.touch()
        # The timer moves only when it fires: traffic never churns the stack's heap.
        self.expires = self.last_used + self.idle

    def touch(self):
        self.last_used = time.monotonic()

    def deadline(self):
        return None if self.closed else self.expires

    def on_timer(self):
        if time.monotonic() >= self.last_used + self.idle:
            self.close()
        else:
            self.expires = self.last_used + self.idle

    def close(self):
        if not self.closed:
            self.closed = True
            self.nat.forget_udp(self)


class UdpFlow(UdpBinding):
    """Guest (port) -> one host destination, through a connected host socket
    (the host kernel filters replies to that destination)."""

    def __init__(self, nat, key, host_dest, idle=UDP_IDLE):
        super().__init__(nat, key, idle)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        try:
            self.sock.connect(host_dest)
        except OSError:
            self.sock.close()
            raise
        nat.sel_register(self.sock, self)

    def send_to_host(self, payload):
        self.touch()
        try:
            self.sock.send(payload)
        except (BlockingIOError, ConnectionRefusedError):
            pass                          # UDP: a full buffer or an old error drops it
        except OSError:
            self.close()

    def host_event(self, mask):
        gport, remote, rport = self.key
        for _ in range(64):               # bounded: other flows get their turn
            try:
                data = self.sock.recv(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except ConnectionRefusedError:
                # The host's port unreachable: the guest sees the same.
                self.nat.udp_unreachable(self.key)
                continue
            except OSError:
                self.close()
                return
            self.touch()
            self.nat.udp_to_guest(remote, rport, gport, data)

    def close(self):
        if not self.closed:
            self.nat.sel_unregister(self.sock)
            self.sock.close()
        super().close()


class ForwardPeer(UdpBinding):
    """A host peer of a UDP port forward, seen by the guest as 10.0.2.2:port."""

    def __init__(self, nat, key, forward, peer):
        super().__init__(nat, key)
        self.forward, self.peer = forward, peer

    def send_to_host(self, payload):
        self.touch()
        try:
            self.forward.sock.sendto(payload, self.peer)
        except OSError:
            pass

    def close(self):
        if not self.closed:
            self.forward.peers.pop(self.peer, None)
        super().close()


class UdpForward:
    """A host UDP socket whose datagrams go to guest port ``guest_port``."""

    def __init__(self, nat, host_addr, host_port, guest_port):
        self.nat, self.guest_port = nat, guest_port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((host_addr, host_port))
        except OSError:
            self.sock.close()
            raise
        self.sock.setblocking(False)
        self.peers = {}                    # host (addr, port) -> ForwardPeer
        nat.sel_register(self.sock, self)

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def host_event(self, mask):
        for _ in range(64):
            try:
                data, peer = self.sock.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:
                continue                   # an ICMP error for an old peer
            binding = self.peers.get(peer)
            if binding is None:
                key = self.nat.new_gateway_key(self.guest_port)
                if key is None:
                    continue
                binding = self.peers[peer] = ForwardPeer(self.nat, key, self, peer)
                self.nat.adopt_udp(binding)
            binding.touch()
            gport, remote, rport = binding.key
            self.nat.udp_to_guest(remote, rport, gport, data)

