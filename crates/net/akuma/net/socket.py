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
AF_INET: (host_str, port); AF_INET6: (host_str, port, flowinfo, scope_id).
``connect(None)`` means AF_UNSPEC (dissolve a datagram association).
Addresses returned (getsockname, getpeername, accept's peer, msg.address)
use the same forms; None means "no address" (namelen 0).

Additions (backward compatible; the syscall layer relies on them):
- ``flags`` passed to sendmsg/recvmsg include MSG_DONTWAIT when the call
  will not block (O_NONBLOCK socket or MSG_DONTWAIT), so MSG_WAITALL can
  tell.  A partial stream send returns the count; the layer returns it.
- ``connect``: raise EAGAIN to wait (the layer re-runs connect when woken; a
  connection in progress must then answer 0 once established, or its
  error).  A non-blocking socket raises EINPROGRESS itself (TCP) or EAGAIN
  (AF_UNIX with a full backlog).
- ``cred``: (pid, uid, gid) of the calling task, set by the layer before
  every call (SO_PEERCRED, SCM_CREDENTIALS).  ``caller``: the calling Task
  (AF_UNIX needs its cwd/root/umask for filesystem names).
- ``socketpair(other)``: connect two fresh sockets (EOPNOTSUPP by default).
- ``poll_events()`` returns the full Linux poll mask (EPOLL* bits, equal to
  POLL* bits); the default derives it from poll_ready().  epoll and ppoll
  use it.
- SOL_SOCKET options common to all families (buffers, timeouts, SO_TYPE,
  SO_ERROR, SO_REUSEADDR, SO_KEEPALIVE, SO_LINGER...) are handled here in
  the base getsockopt/setsockopt (akuma.net.sockopt); override and call
  super() for anything else.  ``error`` holds the pending SO_ERROR value
  (``take_error()`` reads and clears it); ``accepting`` is SO_ACCEPTCONN;
  ``rcvtimeo``/``sndtimeo`` are seconds (0 = forever) and the syscall layer
  applies them; ``sndbuf``/``rcvbuf`` are Linux's doubled values.
- ``sigpipe``: whether EPIPE from sendmsg raises SIGPIPE (stream sockets;
  Linux does not for AF_UNIX datagram/seqpacket).
- Files passed with SCM_RIGHTS: a socket that queues them takes a reference
  with ``hold(f)`` and, when it drops them undelivered, ``release(f)``
  (akuma.net.ancillary).  Files handed out by recvmsg carry one reference
  each that the syscall layer gives to the receiver's fd table."""
import itertools

from akuma.abi import KernelError, Stat
from akuma.abi.errors import EOPNOTSUPP, ENOTCONN, ENOPROTOOPT
from akuma.abi.stat import S_IFSOCK
from akuma.kernel.kernelfile import KernelFile
from akuma.net import sockopt

_FAMILIES = {}      # AF_* -> factory(kernel, type, protocol) -> Socket
_inos = itertools.count(10000)

EPOLLIN, EPOLLOUT, EPOLLRDNORM, EPOLLWRNORM = 0x1, 0x4, 0x40, 0x100


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
    sigpipe = True
    is_socket = True        # fs.py routes read/write/poll here without importing us

    def __init__(self, flags=0):
        self.flags = flags            # O_NONBLOCK lives here, as on files
        self.waiters = []
        self.listeners = []           # kernel-side consumers (the SSH server): called on every wake
        self.ino = next(_inos)
        self.path = f"socket:[{self.ino}]".encode()
        self.cred = (0, 0, 0)
        self.caller = None
        # SOL_SOCKET state (akuma.net.sockopt)
        self.error = 0
        self.accepting = False
        self.sndbuf = sockopt.WMEM_DEFAULT
        self.rcvbuf = sockopt.RMEM_DEFAULT
        self.rcvtimeo = self.sndtimeo = 0.0
        self.linger = (0, 0)
        self.debug = self.reuseaddr = self.dontroute = self.broadcast = 0
        self.keepalive = self.oobinline = self.no_check = self.reuseport = 0
        self.passcred = self.priority = 0
        self.rcvlowat = 1

    # -- readiness -------------------------------------------------------------------
    def add_waiter(self, t):
        if t not in self.waiters:
            self.waiters.append(t)

    def wake_all(self, sched):
        waiters, self.waiters = self.waiters, []
        for t in waiters:
            sched.wake(t)
        for cb in list(self.listeners):
            cb()

    def poll_ready(self):
        return (False, False)

    def poll_events(self):
        r, w = self.poll_ready()
        return (EPOLLIN | EPOLLRDNORM if r else 0) | (EPOLLOUT | EPOLLWRNORM if w else 0)

    def poll_mask(self):            # what epoll asks
        return self.poll_events()

    def take_error(self):
        err, self.error = self.error, 0
        return err

    def buffer_changed(self):
        """SO_SNDBUF/SO_RCVBUF changed: wake writers that may now fit."""

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

    def socketpair(self, other):
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
        if level == sockopt.SOL_SOCKET:
            return sockopt.get_generic(self, name)
        raise KernelError(ENOPROTOOPT)

    def setsockopt(self, level, name, value):
        """``value`` is the raw bytes the guest passed."""
        if level == sockopt.SOL_SOCKET:
            return sockopt.set_generic(self, name, value, privileged=self.cred[1] == 0)
        raise KernelError(ENOPROTOOPT)

    # -- plain file calls map onto the socket calls ----------------------------------------
    def readinto(self, views):
        return self.recvmsg(views, Message(), 0)

    def writefrom(self, views):
        return self.sendmsg(views, Message(), 0)

    def read_as(self, t, count, views):
        """read/readv (fs.py's hook): the socket layer applies SO_RCVTIMEO."""
        from akuma.kernel.syscalls.net import sock_io
        return sock_io(t, self, views(), False)

    def write_as(self, t, count, views):
        from akuma.kernel.syscalls.net import sock_io
        return sock_io(t, self, views(), True)

    def stat(self):
        return Stat(mode=S_IFSOCK | 0o777, size=0, ino=self.ino, blksize=4096)

    def close(self):
        pass
