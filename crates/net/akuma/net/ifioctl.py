"""The interface ioctls on any socket (SIOCGIF*), as busybox ifconfig and
`ip` use them: ``struct ifreq`` in, ``struct ifreq`` out.  Pure functions of
the stack; the syscall layer moves the bytes to and from the guest."""
import struct

from akuma.abi import KernelError
from akuma.abi.errors import EFAULT, EINVAL, ENODEV, EPERM

SIOCGIFNAME, SIOCGIFCONF, SIOCGIFFLAGS, SIOCSIFFLAGS = 0x8910, 0x8912, 0x8913, 0x8914
SIOCGIFADDR, SIOCGIFDSTADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK = 0x8915, 0x8917, 0x8919, 0x891B
SIOCGIFMETRIC, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFINDEX = 0x891D, 0x8921, 0x8927, 0x8933
SIOCGIFTXQLEN, SIOCGIFMAP = 0x8942, 0x8970
IFREQ_SIZE = 40                    # char ifr_name[16] + a 24-byte union (LP64)
IFCONF = struct.Struct("<i4xQ")    # ifc_len, ifc_buf
IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING, IFF_MULTICAST = 0x1, 0x2, 0x8, 0x40, 0x1000
ARPHRD_ETHER, ARPHRD_LOOPBACK = 1, 772
AF_INET = 2

# Requests that read an ifreq naming an interface and write one back.
IFREQ_REQUESTS = {SIOCGIFNAME, SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFADDR, SIOCGIFDSTADDR,
                  SIOCGIFBRDADDR, SIOCGIFNETMASK, SIOCGIFMETRIC, SIOCGIFMTU, SIOCGIFHWADDR,
                  SIOCGIFINDEX, SIOCGIFTXQLEN, SIOCGIFMAP}


def _sockaddr_in(addr):
    return struct.pack("<H", AF_INET) + b"\0\0" + addr + b"\0" * 8


def _mask(prefix):
    return ((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF).to_bytes(4, "big")


def flags_of(iface):
    if iface.name == "lo":
        f = IFF_LOOPBACK
    else:
        f = IFF_BROADCAST | IFF_MULTICAST
    return f | (IFF_UP | IFF_RUNNING if iface.up else 0)


def _find(stack, name):
    for i in stack.ifaces:
        if i.name.encode() == name:
            return i
    raise KernelError(ENODEV)


def ifreq(stack, req, raw, privileged):
    """Answer one ifreq request; the ifreq bytes to write back."""
    if len(raw) < IFREQ_SIZE:
        raise KernelError(EFAULT)
    name, union = raw[:16], raw[16:IFREQ_SIZE]
    if req == SIOCGIFNAME:
        (index,) = struct.unpack_from("<i", union)
        if not 1 <= index <= len(stack.ifaces):
            raise KernelError(ENODEV)
        return stack.ifaces[index - 1].name.encode().ljust(16, b"\0") + union
    iface = _find(stack, name.split(b"\0", 1)[0])
    if req == SIOCGIFFLAGS:
        out = struct.pack("<h", flags_of(iface))
    elif req == SIOCSIFFLAGS:
        if not privileged:
            raise KernelError(EPERM)
        (flags,) = struct.unpack_from("<h", union)
        iface.up = bool(flags & IFF_UP)
        return raw[:IFREQ_SIZE]
    elif req == SIOCGIFADDR:
        out = _sockaddr_in(iface.addr)
    elif req == SIOCGIFNETMASK:
        out = _sockaddr_in(_mask(iface.prefix))
    elif req == SIOCGIFBRDADDR:
        if iface.name == "lo":
            out = _sockaddr_in(b"\0\0\0\0")
        else:
            net = int.from_bytes(iface.addr, "big") | (~int.from_bytes(_mask(iface.prefix), "big")
                                                       & 0xFFFFFFFF)
            out = _sockaddr_in(net.to_bytes(4, "big"))
    elif req == SIOCGIFDSTADDR:
        out = _sockaddr_in(b"\0\0\0\0")
    elif req == SIOCGIFMETRIC:
        out = struct.pack("<i", 0)
    elif req == SIOCGIFMTU:
        out = struct.pack("<i", iface.mtu)
    elif req == SIOCGIFHWADDR:
        family = ARPHRD_LOOPBACK if iface.name == "lo" else ARPHRD_ETHER
        out = struct.pack("<H", family) + iface.mac + b"\0" * 8
    elif req == SIOCGIFINDEX:
        out = struct.pack("<i", stack.ifaces.index(iface) + 1)
    elif req == SIOCGIFTXQLEN:
        out = struct.pack("<i", 1000)
    elif req == SIOCGIFMAP:
        out = b"\0" * 24                 # no I/O memory, IRQ or DMA: a virtual NIC
    else:
        raise KernelError(EINVAL)
    return raw[:16] + out.ljust(24, b"\0")


def ifconf_entries(stack):
    """SIOCGIFCONF's array: one ifreq (name + address) per interface."""
    return [i.name.encode().ljust(16, b"\0") + _sockaddr_in(i.addr).ljust(24, b"\0")
            for i in stack.ifaces if i.up]
