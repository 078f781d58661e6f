"""The contract every socket implements (AF_UNIX in unix.py, AF_INET in the
inet stack).  The syscall layer (akuma.kernel.syscalls.net) decodes guest
structures, then calls these methods; sockets never touch guest memory.

Blocking follows the kernel's restart model (see akuma.kernel.pipe): a method
that cannot make progress raises KernelError(EAGAIN); the syscall layer then
returns -EAGAIN for a non-blocking socket (O_NONBLOCK or MSG_DONTWAIT), or
calls ``add_waiter(task)`` and blocks the task, and the whole syscall runs
again when the socket wakes its waiters.  ``poll_ready()`` answers
(readable, writable) for poll/select/epoll and must agree with what a
read or write would do.  ``poll_events()`` may refine that with
POLLHUP/POLLERR/POLLRDHUP bits.

Addresses are passed as already-decoded Python values, per family:
AF_UNIX: bytes path (b"\\0name" for the abstract namespace, b"" unnamed);
AF_INET: (host_str, port)."""
from akuma.abi import KernelError, Stat
from akuma.abi.errors import EOPNOTSUPP, ENOTCONN, ENOPROTOOPT
from akuma.abi.stat import S_IFSOCK
from akuma.kernel.kernelfile import KernelFile

_FAMILIES = {}      # AF_* -> factory(kernel, type, protocol) -> Socket


def register_family(family, factory):
    _FAMILIES[family] = factory


def family_factory(family):
    return _FAMILIES.get(family)


class Message:
    """One sendmsg/recvmsg worth: data views plus ancillary items.
    ``ancillary`` holds (level, type, value) where value is decoded
    (SCM_RIGHTS: list of open files; SCM_CREDENTIALS: (pid, uid, gid))."""

    def __init__(self, address=None, ancillary=(), flags=0):
        self.address = address
        self.ancillary = list(ancillary)
        self.flags = flags


class Socket(KernelFile):
    family = 0
    type = 0
    protocol = 0
    readable = writable = True

    def __init__(self, flags=0):
        self.flags = flags            # O_NONBLOCK lives here, as on files
        self.waiters = []
        self.path = b"socket:[0]"

    # -- readiness -------------------------------------------------------------------
    def add_waiter(self, t):
        self.waiters.append(t)

    def wake_all(self, sched):
        for t in self.waiters:
            sched.wake(t)
        self.waiters = []

    def poll_ready(self):
        return (False, False)

    # -- the calls ---------------------------------------------------------------------
    def bind(self, address):
        raise KernelError(EOPNOTSUPP)

    def listen(self, backlog):
        raise KernelError(EOPNOTSUPP)

    def accept(self, flags):
        """A new connected Socket, or KernelError(EAGAIN) to wait."""
        raise KernelError(EOPNOTSUPP)

    def connect(self, address):
        raise KernelError(EOPNOTSUPP)

    def sendmsg(self, views, msg, flags):
        """Bytes sent; KernelError(EPIPE) on a closed peer (the caller sends
        SIGPIPE unless MSG_NOSIGNAL)."""
        raise KernelError(EOPNOTSUPP)

    def recvmsg(self, views, msg, flags):
        """Bytes received into ``views``; fills msg.address, msg.ancillary
        and msg.flags (MSG_TRUNC, MSG_CTRUNC).  With MSG_TRUNC in ``flags``
        a datagram socket returns the real length."""
        raise KernelError(EOPNOTSUPP)

    def shutdown(self, how):
        raise KernelError(ENOTCONN)

    def getsockname(self):
        raise KernelError(EOPNOTSUPP)

    def getpeername(self):
        raise KernelError(ENOTCONN)

    def getsockopt(self, level, name):
        """An int, or bytes for structured options."""
        raise KernelError(ENOPROTOOPT)

    def setsockopt(self, level, name, value):
        """``value`` is the raw bytes the guest passed."""
        raise KernelError(ENOPROTOOPT)

    # -- plain file calls map onto the socket calls ----------------------------------------
    def readinto(self, views):
        return self.recvmsg(views, Message(), 0)

    def writefrom(self, views):
        return self.sendmsg(views, Message(), 0)

    def stat(self):
        return Stat(mode=S_IFSOCK | 0o777, size=0, ino=id(self) & 0xFFFFFFFF, blksize=4096)

    def close(self):
        pass
