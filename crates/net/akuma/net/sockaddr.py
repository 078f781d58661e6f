"""struct sockaddr_un / sockaddr_in / sockaddr_in6 to and from the Python
values the socket contract uses (see akuma.net.socket)."""
import socket as _host
import struct

from akuma.abi import KernelError
from akuma.abi.errors import EAFNOSUPPORT, EINVAL
from akuma.net.sockopt import AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_PACKET

SOCKADDR_LL = struct.Struct("<H2siHBB8s")   # family, protocol (be16), ifindex, hatype, pkttype, halen, addr

SOCKADDR_STORAGE = 128
SUN_PATH_MAX = 108
UNSPEC = object()       # decode(): an AF_UNSPEC address (connect: dissolve)


def family_of(raw):
    if len(raw) < 2:
        raise KernelError(EINVAL)
    return struct.unpack_from("<H", raw)[0]


def decode(family, raw):
    """The address ``raw`` (already cut to the guest's addrlen) names for a
    socket of ``family``; UNSPEC for an AF_UNSPEC sockaddr."""
    fam = family_of(raw)
    if fam == AF_UNSPEC and family != AF_UNIX:
        return UNSPEC
    if family == AF_UNIX:
        return _decode_unix(fam, raw)
    if family == AF_INET:
        if len(raw) < 16:
            raise KernelError(EINVAL)
        if fam != AF_INET:
            raise KernelError(EAFNOSUPPORT)
        port, = struct.unpack_from(">H", raw, 2)
        return (_host.inet_ntop(_host.AF_INET, bytes(raw[4:8])), port)
    if family == AF_INET6:
        if len(raw) < 24:
            raise KernelError(EINVAL)
        if fam != AF_INET6:
            raise KernelError(EAFNOSUPPORT)
        port, flow = struct.unpack_from(">HI", raw, 2)
        scope = struct.unpack_from("<I", raw, 24)[0] if len(raw) >= 28 else 0
        return (_host.inet_ntop(_host.AF_INET6, bytes(raw[8:24])), port, flow, scope)
    if family == AF_PACKET:
        # (protocol, ifindex, hatype, pkttype, hwaddr): protocol in host order
        if len(raw) < 12 or fam != AF_PACKET:
            raise KernelError(EINVAL)
        raw = bytes(raw).ljust(SOCKADDR_LL.size, b"\0")
        _, proto, index, hatype, pkttype, halen, addr = SOCKADDR_LL.unpack_from(raw)
        return (int.from_bytes(proto, "big"), index, hatype, pkttype, addr[:min(halen, 8)])
    raise KernelError(EAFNOSUPPORT)


def _decode_unix(fam, raw):
    if fam == AF_UNSPEC:
        return UNSPEC
    if fam != AF_UNIX or len(raw) > 2 + SUN_PATH_MAX:
        raise KernelError(EINVAL)
    path = bytes(raw[2:])
    if path[:1] == b"\0":
        return path                      # abstract: every byte counts
    return path.split(b"\0", 1)[0]       # a filesystem name ends at its NUL


def encode(family, address):
    """The sockaddr bytes for ``address`` (None: a bare family, Linux's
    unnamed AF_UNIX address)."""
    if family == AF_UNIX:
        head = struct.pack("<H", AF_UNIX)
        if not address:
            return head
        if address[:1] == b"\0":
            return head + address
        return head + address + b"\0"
    if family == AF_INET:
        host, port = address[:2]
        return struct.pack("<H", AF_INET) + struct.pack(">H", port) + \
            _host.inet_pton(_host.AF_INET, host) + bytes(8)
    if family == AF_INET6:
        host, port = address[:2]
        flow, scope = (address[2], address[3]) if len(address) >= 4 else (0, 0)
        return struct.pack("<H", AF_INET6) + struct.pack(">HI", port, flow) + \
            _host.inet_pton(_host.AF_INET6, host) + struct.pack("<I", scope)
    if family == AF_PACKET:
        proto, index, hatype, pkttype, addr = address
        return SOCKADDR_LL.pack(AF_PACKET, proto.to_bytes(2, "big"), index, hatype, pkttype,
                                len(addr), addr.ljust(8, b"\0"))
    return struct.pack("<H", family)
