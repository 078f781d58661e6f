"""Socket syscalls: decode sockaddr/msghdr/cmsghdr from guest memory, call
the socket contract (akuma.net.socket), encode the answers back.

Blocking uses the restart model: a socket call that raises EAGAIN parks the
task on the socket and the SVC runs again when it wakes.  SO_RCVTIMEO /
SO_SNDTIMEO deadlines survive the re-runs in ``task.sleep_deadline``
(monotonic ns), which only the running call uses and which a signal
interrupting the call clears, like nanosleep's."""
import struct
import time

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi.errors import (EAFNOSUPPORT, EAGAIN, EBADF, EINVAL, EMFILE, EMSGSIZE, ENOBUFS,
                              ENOTSOCK, EPERM, EPIPE)
from akuma.abi.signals import SIGPIPE
from akuma.kernel.syscalls.args import s32, read_user, write_user
from akuma.kernel.syscalls.fs import (MAX_RW, _gather, _iovecs, _nofile, _skip, _user_buffers,
                                      install_pair)
from akuma.kernel.syscalls.registry import syscall
from akuma.mm import EFault
from akuma.net import ancillary, sockaddr
from akuma.net import sockopt as so
from akuma.net import unix  # noqa: F401  (registers AF_UNIX)
from akuma.net.socket import Message, Socket, family_factory

MSGHDR = struct.Struct("<QiIQQQQi4x")     # name, namelen, pad, iov, iovlen, control, controllen, flags
MMSGHDR_SIZE = MSGHDR.size + 8            # + msg_len (unsigned) + padding
UIO_MAXIOV = 1024
AF_MAX, SOCK_MAX = 46, 11
INT_MAX = 0x7FFFFFFF


# -- helpers ------------------------------------------------------------------------------

def _sock(t, fd):
    f = t.process.fds.get(s32(fd))
    if not isinstance(f, Socket):
        raise KernelError(ENOTSOCK)
    _enter(t, f)
    return f


def _enter(t, s):
    """Tell the socket who is calling (SO_PEERCRED, SCM_CREDENTIALS, names)."""
    p = t.process
    s.cred = (p.pid, p.creds.euid, p.creds.egid)
    s.caller = t


def _nonblocking(s, flags):
    return bool(s.flags & F.O_NONBLOCK or flags & so.MSG_DONTWAIT)


def _run(t, s, op, nonblock, write):
    """Run ``op`` (a socket call); block on EAGAIN unless ``nonblock``."""
    try:
        result = op()
    except KernelError as e:
        if e.errno != EAGAIN or nonblock:
            t.sleep_deadline = None
            raise
        timeo = s.sndtimeo if write else s.rcvtimeo
        deadline = None
        if timeo:
            now = time.monotonic_ns()
            if t.sleep_deadline is None:
                t.sleep_deadline = now + int(timeo * 1e9)
            elif now >= t.sleep_deadline:
                t.sleep_deadline = None
                return -EAGAIN
            deadline = t.sleep_deadline / 1e9
        s.add_waiter(t)
        t.kernel.sched.block(t, deadline=deadline)
        return None
    t.sleep_deadline = None
    return result


def _buffers(t, addr, n, to_user):
    return _user_buffers(t, addr, n, to_user) if n else []


def _read_addr(t, s, addr, addrlen):
    """The decoded address at ``addr`` (EINVAL for a bad length)."""
    addrlen = s32(addrlen)
    if addrlen < 0 or addrlen > sockaddr.SOCKADDR_STORAGE:
        raise KernelError(EINVAL)
    return sockaddr.decode(s.family, read_user(t, addr, addrlen))


def _put_addr(t, raw, addr, addrlen_ptr):
    """move_addr_to_user: copy what fits, store the full length."""
    (room,) = struct.unpack("<i", read_user(t, addrlen_ptr, 4))
    if room < 0:
        raise KernelError(EINVAL)
    n = min(room, len(raw))
    if n:
        write_user(t, addr, raw[:n])
    write_user(t, addrlen_ptr, struct.pack("<i", len(raw)))


def _encode(s, address):
    return sockaddr.encode(s.family, address) if address is not None else b""


def _fd_free(p):
    fd = 0
    while fd in p.fds:
        fd += 1
    return fd < _nofile(p)


def _install(t, f, cloexec):
    p = t.process
    return p.fds.install(f, cloexec=cloexec, limit=_nofile(p))


# -- creation -------------------------------------------------------------------------------

def _new_socket(t, domain, typ, protocol):
    domain, typ, protocol = s32(domain), s32(typ), s32(protocol)
    flags = typ & ~so.SOCK_TYPE_MASK
    base = typ & so.SOCK_TYPE_MASK
    if flags & ~(so.SOCK_NONBLOCK | so.SOCK_CLOEXEC):
        raise KernelError(EINVAL)
    if domain < 0 or domain >= AF_MAX:
        raise KernelError(EAFNOSUPPORT)
    if base >= SOCK_MAX:
        raise KernelError(EINVAL)
    factory = family_factory(domain)
    if factory is None:
        raise KernelError(EAFNOSUPPORT)

    def make():
        s = factory(t.kernel, base, protocol)
        s.flags = F.O_RDWR | (F.O_NONBLOCK if flags & so.SOCK_NONBLOCK else 0)
        _enter(t, s)
        return s
    return make, bool(flags & so.SOCK_CLOEXEC)


@syscall("socket", "int hex int")
def sys_socket(t, domain, typ, protocol, *_):
    make, cloexec = _new_socket(t, domain, typ, protocol)
    s = make()
    try:
        return _install(t, s, cloexec)
    except KernelError:
        s.close()
        raise


@syscall("socketpair", "int hex int hex")
def sys_socketpair(t, domain, typ, protocol, sv, *_):
    make, cloexec = _new_socket(t, domain, typ, protocol)
    a, b = make(), make()
    try:
        a.socketpair(b)
    except KernelError:
        a.close()
        b.close()
        raise
    return install_pair(t, a, b, cloexec, sv)


# -- names and connections ----------------------------------------------------------------------

@syscall("bind", "fd hex int")
def sys_bind(t, fd, addr, addrlen, *_):
    s = _sock(t, fd)
    address = _read_addr(t, s, addr, addrlen)
    if address is sockaddr.UNSPEC:
        raise KernelError(EINVAL if s.family == so.AF_UNIX else EAFNOSUPPORT)
    s.bind(address)
    return 0


@syscall("listen", "fd int")
def sys_listen(t, fd, backlog, *_):
    _sock(t, fd).listen(s32(backlog))
    return 0


@syscall("connect", "fd hex int")
def sys_connect(t, fd, addr, addrlen, *_):
    s = _sock(t, fd)
    address = _read_addr(t, s, addr, addrlen)
    if address is sockaddr.UNSPEC:
        address = None
    r = _run(t, s, lambda: s.connect(address), _nonblocking(s, 0), True)
    return 0 if r is not None and r >= 0 else r


@syscall("accept4", "fd hex hex hex")
def sys_accept4(t, fd, addr, addrlen_ptr, flags, *_):
    flags = s32(flags)
    if flags & ~(so.SOCK_NONBLOCK | so.SOCK_CLOEXEC):
        return -EINVAL
    s = _sock(t, fd)
    if not _fd_free(t.process):
        return -EMFILE
    nflags = F.O_RDWR | (F.O_NONBLOCK if flags & so.SOCK_NONBLOCK else 0)
    new = _run(t, s, lambda: s.accept(nflags), _nonblocking(s, 0), False)
    if not isinstance(new, Socket):
        return new
    new.flags = nflags
    try:
        if addr:
            try:
                peer = new.getpeername()
            except KernelError:
                peer = None
            _put_addr(t, _encode(new, peer) or sockaddr.encode(new.family, None), addr,
                      addrlen_ptr)
        return _install(t, new, bool(flags & so.SOCK_CLOEXEC))
    except KernelError:
        new.close()
        raise


@syscall("accept", "fd hex hex")
def sys_accept(t, fd, addr, addrlen_ptr, *_):
    return sys_accept4(t, fd, addr, addrlen_ptr, 0)


def _name_call(t, fd, addr, addrlen_ptr, peer):
    s = _sock(t, fd)
    address = s.getpeername() if peer else s.getsockname()
    _put_addr(t, sockaddr.encode(s.family, address), addr, addrlen_ptr)
    return 0


@syscall("getsockname", "fd hex hex")
def sys_getsockname(t, fd, addr, addrlen_ptr, *_):
    return _name_call(t, fd, addr, addrlen_ptr, False)


@syscall("getpeername", "fd hex hex")
def sys_getpeername(t, fd, addr, addrlen_ptr, *_):
    return _name_call(t, fd, addr, addrlen_ptr, True)


@syscall("shutdown", "fd int")
def sys_shutdown(t, fd, how, *_):
    _sock(t, fd).shutdown(s32(how))
    return 0


# -- options --------------------------------------------------------------------------------------

@syscall("getsockopt", "fd int int hex hex")
def sys_getsockopt(t, fd, level, name, optval, optlen_ptr, *_):
    s = _sock(t, fd)
    (room,) = struct.unpack("<i", read_user(t, optlen_ptr, 4))
    if room < 0:
        return -EINVAL
    value = s.getsockopt(s32(level), s32(name))
    if isinstance(value, int):
        value = struct.pack("<i", value if value < 0x80000000 else value - (1 << 32))
    n = min(room, len(value))
    if n:
        write_user(t, optval, value[:n])
    write_user(t, optlen_ptr, struct.pack("<i", n))
    return 0


def _read_optval(t, optval, optlen):
    """Linux reads only what an option needs; read what the mapping has."""
    for n in (min(optlen, 256), min(optlen, 16), min(optlen, 4)):
        try:
            return t.process.aspace.read(optval, n)
        except EFault:
            continue
    return read_user(t, optval, min(optlen, 4))


@syscall("setsockopt", "fd int int hex int")
def sys_setsockopt(t, fd, level, name, optval, optlen, *_):
    s = _sock(t, fd)
    optlen = s32(optlen)
    if optlen < 0:
        return -EINVAL
    value = _read_optval(t, optval, optlen) if optlen else b""
    s.setsockopt(s32(level), s32(name), value)
    return 0


# -- data -------------------------------------------------------------------------------------------

def _send(t, s, views, msg, flags):
    nonblock = _nonblocking(s, flags)
    if nonblock:
        flags |= so.MSG_DONTWAIT
    elif getattr(s, "type", None) == so.SOCK_STREAM:
        return _send_all(t, s, views, msg, flags)
    try:
        return _run(t, s, lambda: s.sendmsg(views, msg, flags), nonblock, True)
    except KernelError as e:
        if e.errno == EPIPE and s.sigpipe and not flags & so.MSG_NOSIGNAL:
            t.kernel.send_signal(t.process, SIGPIPE, task=t)
        raise


def _send_all(t, s, views, msg, flags):
    """A blocking send on a stream socket takes every byte, as on Linux
    (tcp_sendmsg, unix_stream_sendmsg): when the buffers fill part-way the
    task sleeps with its progress in ``t.partial_write`` and the re-executed
    SVC goes on from there.  A signal then ends the call with the count
    sent so far (never EINTR), as does an error or SO_SNDTIMEO expiring
    after some bytes went."""
    key = ("send", id(s), flags, sum(len(v) for v in views))
    prog, t.partial_write = t.partial_write, None
    done = prog[1] if prog is not None and prog[0] == key else 0
    total = key[3]
    while True:
        rest = _skip(views, done) if done else views
        first = msg if not done else Message()      # ancillary data goes with the first byte
        try:
            r = _run(t, s, lambda: s.sendmsg(rest, first, flags), False, True)
        except KernelError as e:
            if done:
                return done                          # the error is for the next call
            if e.errno == EPIPE and s.sigpipe and not flags & so.MSG_NOSIGNAL:
                t.kernel.send_signal(t.process, SIGPIPE, task=t)
            raise
        if r is None:                                # sleeping until there is room
            if done:
                t.partial_write = (key, done)
            return None
        if r < 0:                                    # SO_SNDTIMEO expired
            return done or r
        done += r
        if done >= total or r == 0:
            return done


def _recv(t, s, views, msg, flags):
    nonblock = _nonblocking(s, flags)
    if nonblock:
        flags |= so.MSG_DONTWAIT
    return _run(t, s, lambda: s.recvmsg(views, msg, flags), nonblock, False)


def _control_out(t, msg, size, flags):
    """Ancillary items into a control buffer of ``size`` bytes; fds that do
    not fit are closed (MSG_CTRUNC), as scm_detach_fds does."""
    w = ancillary.ControlWriter(size)
    cloexec = bool(flags & so.MSG_CMSG_CLOEXEC)
    for level, typ, value in msg.ancillary:
        if typ == so.SCM_RIGHTS:
            fds = []
            for f in value[:w.fd_room()]:
                try:
                    fds.append(_install(t, f, cloexec))
                except KernelError:
                    break
            for f in value:
                ancillary.release(f)         # the fd table holds its own now
            w.put_fds(fds, len(value))
        elif typ == so.SCM_CREDENTIALS:
            pid, uid, gid = value
            w.put(level, typ, ancillary.UCRED.pack(pid, uid & 0xFFFFFFFF, gid & 0xFFFFFFFF))
        else:
            w.put(level, typ, value)
    return w


def sock_io(t, f, views, write):
    """read/readv/write/writev on a socket (fs.py sends them here)."""
    _enter(t, f)
    if write:
        return _send(t, f, views, Message(), 0)
    msg = Message()
    r = _recv(t, f, views, msg, 0)
    if msg.ancillary:
        _control_out(t, msg, 0, 0)
    return r


@syscall("sendto", "fd wbuf size hex hex int")
def sys_sendto(t, fd, buf, length, flags, addr, addrlen, *_):
    s = _sock(t, fd)
    flags = s32(flags)
    address = None
    if addr and s32(addrlen):
        address = _read_addr(t, s, addr, addrlen)
        if address is sockaddr.UNSPEC:
            raise KernelError(EINVAL if s.family == so.AF_UNIX else EAFNOSUPPORT)
    views = _buffers(t, buf, min(length, MAX_RW), False)
    return _send(t, s, views, Message(address), flags)


@syscall("recvfrom", "fd rbuf size hex hex hex")
def sys_recvfrom(t, fd, buf, length, flags, addr, addrlen_ptr, *_):
    s = _sock(t, fd)
    flags = s32(flags)
    views = _buffers(t, buf, min(length, MAX_RW), True)
    msg = Message()
    r = _recv(t, s, views, msg, flags)
    if r is None:
        return None
    if msg.ancillary:
        _control_out(t, msg, 0, flags)
    if addr:
        _put_addr(t, _encode(s, msg.address), addr, addrlen_ptr)
    return r


def _read_msghdr(t, ptr):
    name, namelen, _pad, iov, iovlen, control, controllen, _flags = \
        MSGHDR.unpack(read_user(t, ptr, MSGHDR.size))
    if iovlen > UIO_MAXIOV:
        raise KernelError(EMSGSIZE)
    return name, namelen, iov, iovlen, control, controllen


def _ancillary_in(t, raw):
    """Decoded (level, type, value) items for a send (scm_send's checks)."""
    items = []
    nfds = 0
    p = t.process
    for level, typ, data in ancillary.parse(raw):
        if level != so.SOL_SOCKET:
            continue
        if typ == so.SCM_RIGHTS:
            fds = ancillary.fds_of(data)
            if not fds:
                continue
            nfds += len(fds)
            if nfds > ancillary.SCM_MAX_FD:
                raise KernelError(EINVAL)
            files = []
            for fd in fds:
                f = p.fds._files.get(fd)
                if f is None or getattr(f, "opath", False):
                    raise KernelError(EBADF)
                files.append(f)
            items.append((level, typ, files))
        elif typ == so.SCM_CREDENTIALS:
            if len(data) != ancillary.UCRED.size:
                raise KernelError(EINVAL)
            pid, uid, gid = ancillary.UCRED.unpack(data)
            c = p.creds
            if c.euid != 0 and (pid != p.pid or uid not in (c.uid, c.euid, c.suid)
                                or gid not in (c.gid, c.egid, c.sgid)):
                raise KernelError(EPERM)
            items.append((level, typ, (pid, uid, gid)))
        else:
            raise KernelError(EINVAL)
    return items


def _sendmsg(t, s, hdr, flags):
    name, namelen, iov, iovlen, control, controllen = _read_msghdr(t, hdr)
    if namelen < 0:
        raise KernelError(EINVAL)
    views = _gather(t, _iovecs(t, iov, iovlen), False)
    items = []
    if control and controllen:
        if controllen > INT_MAX:
            raise KernelError(ENOBUFS)
        items = _ancillary_in(t, read_user(t, control, controllen))
    address = None
    if name and namelen:
        address = _read_addr(t, s, name, min(namelen, sockaddr.SOCKADDR_STORAGE))
        if address is sockaddr.UNSPEC:
            raise KernelError(EINVAL if s.family == so.AF_UNIX else EAFNOSUPPORT)
    return _send(t, s, views, Message(address, items), flags)


def _recvmsg(t, s, hdr, flags):
    name, namelen, iov, iovlen, control, controllen = _read_msghdr(t, hdr)
    views = _gather(t, _iovecs(t, iov, iovlen), True)
    msg = Message()
    r = _recv(t, s, views, msg, flags)
    if r is None:
        return None
    w = _control_out(t, msg, min(controllen, INT_MAX) if control else 0, flags)
    if w.out:
        write_user(t, control, bytes(w.out))
    if name:
        raw = _encode(s, msg.address)
        n = min(max(namelen, 0), len(raw))
        if n:
            write_user(t, name, raw[:n])
        write_user(t, hdr + 8, struct.pack("<i", len(raw)))
    write_user(t, hdr + 40, struct.pack("<Q", len(w.out)))
    out_flags = msg.flags | w.flags | (flags & so.MSG_CMSG_CLOEXEC)
    write_user(t, hdr + 48, struct.pack("<i", out_flags))
    return r


@syscall("sendmsg", "fd hex hex")
def sys_sendmsg(t, fd, hdr, flags, *_):
    return _sendmsg(t, _sock(t, fd), hdr, s32(flags))


@syscall("recvmsg", "fd hex hex")
def sys_recvmsg(t, fd, hdr, flags, *_):
    return _recvmsg(t, _sock(t, fd), hdr, s32(flags))


@syscall("sendmmsg", "fd hex int hex", note="partial: only the first message may block")
def sys_sendmmsg(t, fd, vec, vlen, flags, *_):
    s = _sock(t, fd)
    flags = s32(flags)
    done = 0
    for i in range(min(vlen & 0xFFFFFFFF, UIO_MAXIOV)):
        hdr = vec + i * MMSGHDR_SIZE
        try:
            # Only the first may block: the restart model cannot resume mid-vector.
            n = _sendmsg(t, s, hdr, flags | (so.MSG_DONTWAIT if i else 0))
        except KernelError:
            if i == 0:
                raise
            break
        if n is None:
            return None
        write_user(t, hdr + MSGHDR.size, struct.pack("<I", n))
        done += 1
    return done


@syscall("recvmmsg", "fd hex int hex hex", note="partial: only the first message blocks")
def sys_recvmmsg(t, fd, vec, vlen, flags, timeout, *_):
    s = _sock(t, fd)
    flags = s32(flags)
    if timeout:
        sec, nsec = struct.unpack("<qq", read_user(t, timeout, 16))
        if sec < 0 or not 0 <= nsec < 1_000_000_000:
            return -EINVAL
    done = 0
    for i in range(min(vlen & 0xFFFFFFFF, UIO_MAXIOV)):
        hdr = vec + i * MMSGHDR_SIZE
        try:
            n = _recvmsg(t, s, hdr, (flags & ~so.MSG_WAITFORONE) |
                         (so.MSG_DONTWAIT if i else 0))
        except KernelError as e:
            if i == 0:
                raise
            if e.errno != EAGAIN:
                s.error = e.errno            # reported by the next call, as Linux does
            break
        if n is None:
            return None
        write_user(t, hdr + MSGHDR.size, struct.pack("<I", n))
        done += 1
    return done



# -- ioctl ----------------------------------------------------------------------------------

def socket_ioctl(t, s, req, arg):
    """ioctl(2) on a socket: the interface requests (SIOCGIF*, any family,
    as on Linux), else the socket's own (FIONREAD went by already)."""
    from akuma.net import ifioctl
    if req not in ifioctl.IFREQ_REQUESTS and req != ifioctl.SIOCGIFCONF:
        return s.ioctl(req, arg)
    from akuma.net import service
    stack = service.attach(t.kernel).stack
    if req == ifioctl.SIOCGIFCONF:
        length, buf = ifioctl.IFCONF.unpack(read_user(t, arg, ifioctl.IFCONF.size))
        entries = ifioctl.ifconf_entries(stack)
        if buf == 0:
            length = len(entries) * ifioctl.IFREQ_SIZE       # how much room to give
        else:
            fit = entries[:max(0, length) // ifioctl.IFREQ_SIZE]
            write_user(t, buf, b"".join(fit))
            length = len(fit) * ifioctl.IFREQ_SIZE
        write_user(t, arg, struct.pack("<i", length))
        return 0
    raw = read_user(t, arg, ifioctl.IFREQ_SIZE)
    write_user(t, arg, ifioctl.ifreq(stack, req, raw, t.process.creds.euid == 0))
    return 0
