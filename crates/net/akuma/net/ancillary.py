"""Control messages (struct cmsghdr) as Linux lays them out on AArch64, and
the reference counting of files in flight (SCM_RIGHTS).

Parsing yields raw (level, type, data) items; the syscall layer turns fds
into open files.  Building follows Linux's put_cmsg/scm_detach_fds: items
that do not fit set MSG_CTRUNC, and fds that do not fit are closed."""
import struct

from akuma.abi import KernelError
from akuma.abi.errors import EINVAL
from akuma.net.sockopt import MSG_CTRUNC, SOL_SOCKET, SCM_RIGHTS, SCM_CREDENTIALS

CMSG_HDR = struct.Struct("<Qii")       # cmsg_len (size_t), cmsg_level, cmsg_type
SCM_MAX_FD = 253
UCRED = struct.Struct("<iII")          # pid, uid, gid


def cmsg_align(n):
    return (n + 7) & ~7


def cmsg_len(n):
    return CMSG_HDR.size + n


def cmsg_space(n):
    return CMSG_HDR.size + cmsg_align(n)


def parse(control):
    """[(level, type, data)] from a sendmsg control buffer (EINVAL for a
    header that lies about its length, as CMSG_OK checks)."""
    items = []
    off, end = 0, len(control)
    while off + CMSG_HDR.size <= end:
        length, level, typ = CMSG_HDR.unpack_from(control, off)
        if length < CMSG_HDR.size or length > end - off:
            raise KernelError(EINVAL)
        items.append((level, typ, bytes(control[off + CMSG_HDR.size:off + length])))
        off += cmsg_align(length)
    return items


def fds_of(data):
    n = len(data) // 4
    return list(struct.unpack_from(f"<{n}i", data)) if n else []


class ControlWriter:
    """Fills a recvmsg control buffer of ``size`` bytes the way Linux does."""

    def __init__(self, size):
        self.size = size
        self.out = bytearray()
        self.flags = 0

    @property
    def room(self):
        return self.size - len(self.out)

    def put(self, level, typ, data):
        room = self.room
        if room < CMSG_HDR.size:
            self.flags |= MSG_CTRUNC
            return
        length = cmsg_len(len(data))
        if length > room:
            self.flags |= MSG_CTRUNC
            length = room
        self.out += (CMSG_HDR.pack(length, level, typ) + data)[:length]
        self.out += bytes(min(cmsg_space(len(data)), room) - length)     # alignment padding

    def fd_room(self):
        """How many fds an SCM_RIGHTS header here can carry."""
        return max(0, (self.room - CMSG_HDR.size) // 4)

    def put_fds(self, fds, total):
        """``fds`` were installed out of ``total`` offered."""
        if fds:
            self.put(SOL_SOCKET, SCM_RIGHTS, struct.pack(f"<{len(fds)}i", *fds))
        if len(fds) < total:
            self.flags |= MSG_CTRUNC


def hold(f):
    """A file goes in flight: it stays open while queued in a socket."""
    f.refs = getattr(f, "refs", 0) + 1


def release(f):
    """Drop an in-flight reference (delivered, discarded or truncated)."""
    f.refs -= 1
    if f.refs <= 0:
        f.close()


__all__ = ["parse", "fds_of", "ControlWriter", "hold", "release", "UCRED", "SCM_MAX_FD",
           "SCM_RIGHTS", "SCM_CREDENTIALS", "SOL_SOCKET"]
