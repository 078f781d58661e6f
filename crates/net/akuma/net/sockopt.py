"""Socket-level (SOL_SOCKET) options every family shares, and the socket
constants of the Linux AArch64 ABI.  Family options (SO_PEERCRED,
TCP_NODELAY, IP_TTL) stay with their families."""
import struct

from akuma.abi import KernelError
from akuma.abi.errors import EDOM, EINVAL, ENOPROTOOPT, EPERM

AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET = 0, 1, 2, 10, 16, 17
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET = 1, 2, 3, 4, 5
SOCK_TYPE_MASK = 0xF
SOCK_NONBLOCK, SOCK_CLOEXEC = 0o4000, 0o2000000

MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_CTRUNC = 0x1, 0x2, 0x4, 0x8
MSG_TRUNC, MSG_DONTWAIT, MSG_EOR, MSG_WAITALL = 0x20, 0x40, 0x80, 0x100
MSG_ERRQUEUE, MSG_NOSIGNAL, MSG_MORE, MSG_WAITFORONE = 0x2000, 0x4000, 0x8000, 0x10000
MSG_CMSG_CLOEXEC = 0x40000000

SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2
RCV_SHUTDOWN, SEND_SHUTDOWN = 1, 2          # Linux's sk_shutdown bits (how + 1)

SOL_SOCKET = 1
SO_DEBUG, SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_DONTROUTE, SO_BROADCAST = 1, 2, 3, 4, 5, 6
SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, SO_OOBINLINE, SO_NO_CHECK, SO_PRIORITY = 7, 8, 9, 10, 11, 12
SO_LINGER, SO_BSDCOMPAT, SO_REUSEPORT, SO_PASSCRED, SO_PEERCRED = 13, 14, 15, 16, 17
SO_RCVLOWAT, SO_SNDLOWAT, SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD = 18, 19, 20, 21
SO_ACCEPTCONN, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PROTOCOL, SO_DOMAIN = 30, 32, 33, 38, 39
SO_RCVTIMEO_NEW, SO_SNDTIMEO_NEW = 66, 67
SCM_RIGHTS, SCM_CREDENTIALS = 1, 2

# /proc/sys/net/core defaults; getsockopt reports Linux's doubled values.
WMEM_DEFAULT = RMEM_DEFAULT = 212992
WMEM_MAX = RMEM_MAX = 212992
SOCK_MIN_SNDBUF, SOCK_MIN_RCVBUF = 4608, 2304

_TIMEVAL = struct.Struct("<qq")
HZ = 250            # the tick SO_RCVTIMEO/SO_SNDTIMEO are rounded up to (arm64 defconfig)
_INT_OPTS = {SO_DEBUG: "debug", SO_REUSEADDR: "reuseaddr", SO_DONTROUTE: "dontroute",
             SO_BROADCAST: "broadcast", SO_KEEPALIVE: "keepalive", SO_OOBINLINE: "oobinline",
             SO_NO_CHECK: "no_check", SO_REUSEPORT: "reuseport", SO_PASSCRED: "passcred",
             SO_PRIORITY: "priority", SO_RCVLOWAT: "rcvlowat"}
_BOOL_OPTS = {SO_DEBUG, SO_REUSEADDR, SO_DONTROUTE, SO_BROADCAST, SO_KEEPALIVE, SO_OOBINLINE,
              SO_NO_CHECK, SO_REUSEPORT, SO_PASSCRED}


def int_value(value):
    """An int option's value as Linux reads it (EINVAL if shorter than an int)."""
    if len(value) < 4:
        raise KernelError(EINVAL)
    return struct.unpack_from("<i", value)[0]


def _timeout(value):
    """SO_RCVTIMEO/SO_SNDTIMEO: seconds (0.0 = wait forever)."""
    if len(value) < _TIMEVAL.size:
        raise KernelError(EINVAL)
    sec, usec = _TIMEVAL.unpack_from(value)
    if not 0 <= usec < 1_000_000:
        raise KernelError(EDOM)
    if sec < 0:
        return 0.0
    jiffies = sec * HZ + -(-usec // (1_000_000 // HZ))     # Linux keeps jiffies
    return jiffies / HZ


def _timeval(seconds):
    usec = round(seconds * 1e6)
    return _TIMEVAL.pack(usec // 1_000_000, usec % 1_000_000)


def get_generic(sock, name):
    """A SOL_SOCKET option common to all families (int or bytes), or
    KernelError(ENOPROTOOPT)."""
    if name in _INT_OPTS:
        v = getattr(sock, _INT_OPTS[name])
        return int(bool(v)) if name in _BOOL_OPTS else v
    if name == SO_TYPE:
        return sock.type
    if name == SO_DOMAIN:
        return sock.family
    if name == SO_PROTOCOL:
        return sock.protocol
    if name == SO_ERROR:
        return sock.take_error()
    if name == SO_SNDBUF:
        return sock.sndbuf
    if name == SO_RCVBUF:
        return sock.rcvbuf
    if name == SO_SNDLOWAT:
        return 1
    if name == SO_ACCEPTCONN:
        return int(bool(sock.accepting))
    if name == SO_LINGER:
        return struct.pack("<ii", *sock.linger)
    if name in (SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW):
        return _timeval(sock.rcvtimeo)
    if name in (SO_SNDTIMEO_OLD, SO_SNDTIMEO_NEW):
        return _timeval(sock.sndtimeo)
    raise KernelError(ENOPROTOOPT)


def set_generic(sock, name, value, privileged=False):
    """Set a SOL_SOCKET option common to all families from the guest's raw
    bytes; KernelError(ENOPROTOOPT) for names this does not know."""
    if name in (SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW):
        sock.rcvtimeo = _timeout(value)
        return
    if name in (SO_SNDTIMEO_OLD, SO_SNDTIMEO_NEW):
        sock.sndtimeo = _timeout(value)
        return
    if name == SO_LINGER:
        if len(value) < 8:
            raise KernelError(EINVAL)
        onoff, secs = struct.unpack_from("<ii", value)
        sock.linger = (int(bool(onoff)), secs)
        return
    v = int_value(value)
    if name in _INT_OPTS:
        setattr(sock, _INT_OPTS[name], int(bool(v)) if name in _BOOL_OPTS else v)
        if name == SO_RCVLOWAT and v <= 0:
            sock.rcvlowat = 1
        return
    if name in (SO_SNDBUF, SO_SNDBUFFORCE):
        if name == SO_SNDBUFFORCE and not privileged:
            raise KernelError(EPERM)
        cap = v if name == SO_SNDBUFFORCE else min(v & 0x7FFFFFFF, WMEM_MAX)
        sock.sndbuf = max(cap * 2, SOCK_MIN_SNDBUF) & 0xFFFFFFFF
        sock.buffer_changed()
        return
    if name in (SO_RCVBUF, SO_RCVBUFFORCE):
        if name == SO_RCVBUFFORCE and not privileged:
            raise KernelError(EPERM)
        cap = v if name == SO_RCVBUFFORCE else min(v & 0x7FFFFFFF, RMEM_MAX)
        sock.rcvbuf = max(cap * 2, SOCK_MIN_RCVBUF) & 0xFFFFFFFF
        sock.buffer_changed()
        return
    if name in (SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR, SO_ACCEPTCONN, SO_PEERCRED):
        raise KernelError(ENOPROTOOPT)
    if name == SO_SNDLOWAT:
        raise KernelError(ENOPROTOOPT)
    if name == SO_BSDCOMPAT:
        return
    raise KernelError(ENOPROTOOPT)
