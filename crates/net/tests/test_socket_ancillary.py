"""cmsghdr parsing and building (Linux's put_cmsg/scm_detach_fds rules),
sockaddr coding and SOL_SOCKET option values."""
import struct

import pytest

from akuma.abi import KernelError
from akuma.abi.errors import EDOM, EINVAL, ENOPROTOOPT
from akuma.net import ancillary, sockaddr
from akuma.net import sockopt as so
from akuma.net.socket import Socket


def cmsg(level, typ, data):
    raw = struct.pack("<Qii", 16 + len(data), level, typ) + data
    return raw + bytes(-len(raw) % 8)


def test_parse_aligned_items():
    raw = cmsg(1, 1, struct.pack("<ii", 3, 4)) + cmsg(1, 2, struct.pack("<iII", 5, 0, 0))
    items = ancillary.parse(raw)
    assert items[0] == (1, 1, struct.pack("<ii", 3, 4))
    assert ancillary.fds_of(items[0][2]) == [3, 4]
    assert items[1][1] == 2


def test_parse_rejects_lying_length():
    raw = bytearray(cmsg(1, 1, b"\0" * 4))
    struct.pack_into("<Q", raw, 0, 200)
    with pytest.raises(KernelError) as e:
        ancillary.parse(bytes(raw))
    assert e.value.errno == EINVAL


def test_writer_truncates_like_linux():
    w = ancillary.ControlWriter(20)
    w.put(1, 2, b"\1" * 12)                 # CMSG_LEN(12) = 28 > 20
    assert w.flags & so.MSG_CTRUNC
    assert len(w.out) == 20 and struct.unpack_from("<Q", w.out)[0] == 20
    w = ancillary.ControlWriter(24)
    assert w.fd_room() == 2
    w.put_fds([7, 8], 3)
    assert w.flags & so.MSG_CTRUNC and struct.unpack_from("<Q", w.out)[0] == 24
    w = ancillary.ControlWriter(8)
    w.put(1, 2, b"x")
    assert w.flags & so.MSG_CTRUNC and not w.out


def test_sockaddr_roundtrip():
    un = sockaddr.encode(so.AF_UNIX, b"/tmp/s")
    assert un == b"\1\0/tmp/s\0"
    assert sockaddr.decode(so.AF_UNIX, un + b"junk") == b"/tmp/s"
    assert sockaddr.decode(so.AF_UNIX, b"\1\0\0ab\0c") == b"\0ab\0c"
    assert sockaddr.decode(so.AF_UNIX, b"\1\0") == b""
    assert sockaddr.decode(so.AF_UNIX, b"\0\0") is sockaddr.UNSPEC
    inet = sockaddr.encode(so.AF_INET, ("10.0.2.15", 8080))
    assert len(inet) == 16 and sockaddr.decode(so.AF_INET, inet) == ("10.0.2.15", 8080)
    six = sockaddr.encode(so.AF_INET6, ("::1", 22, 0, 0))
    assert len(six) == 28 and sockaddr.decode(so.AF_INET6, six) == ("::1", 22, 0, 0)
    for bad in (b"\1", b"\2\0" + bytes(200)):
        with pytest.raises(KernelError):
            sockaddr.decode(so.AF_UNIX, bad)


def test_generic_options():
    s = Socket()
    s.type, s.family = so.SOCK_STREAM, so.AF_UNIX
    assert s.getsockopt(so.SOL_SOCKET, so.SO_TYPE) == so.SOCK_STREAM
    s.setsockopt(so.SOL_SOCKET, so.SO_RCVTIMEO_OLD, struct.pack("<qq", 0, 30000))
    assert s.getsockopt(so.SOL_SOCKET, so.SO_RCVTIMEO_OLD) == struct.pack("<qq", 0, 32000)
    with pytest.raises(KernelError) as e:
        s.setsockopt(so.SOL_SOCKET, so.SO_RCVTIMEO_OLD, struct.pack("<qq", 0, 10**6))
    assert e.value.errno == EDOM
    with pytest.raises(KernelError) as e:
        s.setsockopt(so.SOL_SOCKET, so.SO_TYPE, struct.pack("<i", 1))
    assert e.value.errno == ENOPROTOOPT
    s.setsockopt(so.SOL_SOCKET, so.SO_RCVBUF, struct.pack("<i", 1))
    assert s.getsockopt(so.SOL_SOCKET, so.SO_RCVBUF) == so.SOCK_MIN_RCVBUF
    s.error = 104
    assert s.getsockopt(so.SOL_SOCKET, so.SO_ERROR) == 104
    assert s.getsockopt(so.SOL_SOCKET, so.SO_ERROR) == 0
