"""IPv4 addresses: 4-byte ``bytes`` inside the stack, dotted strings at the
socket API."""
import socket as _host

from akuma.abi import KernelError
from akuma.abi.errors import EINVAL

ANY = b"\0\0\0\0"
BROADCAST = b"\xff\xff\xff\xff"


def pack(text):
    try:
        return _host.inet_aton(text) if text else ANY
    except (OSError, TypeError, ValueError):
        raise KernelError(EINVAL)


def unpack(raw):
    return _host.inet_ntoa(raw)


def to_int(raw):
    return int.from_bytes(raw, "big")


def in_subnet(raw, net, prefix):
    if prefix == 0:
        return True
    shift = 32 - prefix
    return to_int(raw) >> shift == to_int(net) >> shift


def is_loopback(raw):
    return raw[0] == 127
