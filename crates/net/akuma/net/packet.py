"""AF_PACKET on eth0, the minimum DHCP clients (busybox udhcpc) use:
SOCK_DGRAM (link header stripped on receive, built from the sockaddr_ll on
send) and SOCK_RAW (whole Ethernet frames), a protocol filter (ETH_P_IP,
ETH_P_ALL), bind to an interface index.  Frames arriving on eth0 are
copied to every matching socket; outgoing frames go straight to eth0's
link.  No BPF (SO_ATTACH_FILTER is refused: udhcpc filters itself), no
PACKET_AUXDATA, no outgoing-frame taps."""
from akuma.abi import KernelError
from akuma.abi.errors import EAGAIN, EDESTADDRREQ, EINVAL, EMSGSIZE, ENODEV, ENOPROTOOPT
from akuma.net import packets as P
from akuma.net import sockopt as O
from akuma.kernel.kernelfile import join_views as _gather, scatter_into as _scatter
from akuma.net.socket import Socket

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST = 0, 1, 2, 3
PACKET_ADD_MEMBERSHIP, PACKET_AUXDATA = 1, 8
ARPHRD_ETHER = 1
MAX_QUEUE = 256


class PacketSocket(Socket):
    family = O.AF_PACKET

    def __init__(self, stack, type_, protocol, flags=0):
        super().__init__(flags)
        if type_ not in (O.SOCK_RAW, O.SOCK_DGRAM):
            raise KernelError(22)        # ESOCKTNOSUPPORT is what Linux says; EINVAL is close
        self.stack = stack
        self.type = type_
        self.protocol = protocol
        self.proto = ((protocol & 0xFF) << 8) | ((protocol >> 8) & 0xFF)   # ntohs
        self.ifindex = 0                 # 0: every interface (only eth0 has frames)
        self.queue = []
        if self.proto:
            stack.packet_socks.append(self)

    # ---- addresses: (protocol, ifindex, hatype, pkttype, hwaddr) as in sockaddr_ll
    def _iface(self, index):
        if not 1 <= index <= len(self.stack.ifaces):
            raise KernelError(ENODEV)
        return self.stack.ifaces[index - 1]

    def bind(self, address):
        proto, index = address[0], address[1]
        if index:
            self._iface(index)
        self.ifindex = index
        if proto:
            self.proto = proto
        if self.proto and self not in self.stack.packet_socks:
            self.stack.packet_socks.append(self)
        return 0

    def getsockname(self):
        idx = self.ifindex
        mac = self._iface(idx).mac if idx else b""
        return (self.proto, idx, ARPHRD_ETHER, 0, mac)

    def connect(self, address):
        raise KernelError(95)            # EOPNOTSUPP

    # ---- frames in
    def deliver_frame(self, frame, ethertype, pkttype, index):
        if self.ifindex and self.ifindex != index:
            return
        if self.proto != ETH_P_ALL and self.proto != ethertype:
            return
        if len(self.queue) >= MAX_QUEUE:
            return
        data = bytes(frame) if self.type == O.SOCK_RAW else bytes(frame[P.ETH_HLEN:])
        src = bytes(frame[6:12])
        self.queue.append(((ethertype, index, ARPHRD_ETHER, pkttype, src), data))
        self.stack.wake(self)

    def recvmsg(self, views, msg, flags):
        if not self.queue:
            raise KernelError(EAGAIN)
        addr, data = self.queue[0]
        if not flags & O.MSG_PEEK:
            self.queue.pop(0)
        n = _scatter(views, data)
        if msg is not None:
            msg.address = addr
            if n < len(data):
                msg.flags |= O.MSG_TRUNC
        return len(data) if flags & O.MSG_TRUNC else n

    # ---- frames out
    def sendmsg(self, views, msg, flags):
        data = bytes(_gather(views))
        addr = msg.address
        index = addr[1] if addr is not None else self.ifindex
        if not index:
            raise KernelError(EDESTADDRREQ if addr is None else ENODEV)
        iface = self._iface(index)
        if iface is not self.stack.eth0:
            raise KernelError(EINVAL)    # lo has no link layer here
        if self.type == O.SOCK_RAW:
            if len(data) < P.ETH_HLEN:
                raise KernelError(EINVAL)
            frame = data
        else:
            if addr is None:
                raise KernelError(EDESTADDRREQ)
            proto, hwaddr = addr[0] or self.proto, addr[4]
            if len(hwaddr) < 6:
                raise KernelError(EINVAL)
            frame = P.build_ethernet(hwaddr[:6], iface.mac, proto, data)
        if len(frame) > P.ETH_HLEN + iface.mtu:
            raise KernelError(EMSGSIZE)
        iface.count_tx(len(frame))
        if iface.link is not None:
            iface.link(bytes(frame))
        self.stack.flush()
        return len(data)

    # ---- options, readiness
    def setsockopt(self, level, name, value):
        if level == SOL_PACKET:
            if name in (PACKET_ADD_MEMBERSHIP, PACKET_AUXDATA):
                raise KernelError(ENOPROTOOPT)
            raise KernelError(ENOPROTOOPT)
        return super().setsockopt(level, name, value)

    def poll_ready(self):
        return (bool(self.queue), True)

    def fionread(self):
        return len(self.queue[0][1]) if self.queue else 0

    def close(self):
        if self in self.stack.packet_socks:
            self.stack.packet_socks.remove(self)
        self.queue = []
