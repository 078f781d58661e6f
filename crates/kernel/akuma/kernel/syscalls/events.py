"""Event file descriptors: eventfd2, timerfd_*, signalfd4 and epoll_*.

Each object is an in-kernel open file like a pipe end (poll_ready,
add_waiter, readinto/writefrom); blocking uses the restart model: the task
parks on the object's wait list and its syscall runs again when woken."""
import itertools
import struct
import time as _time

from akuma.abi import KernelError, Stat
from akuma.abi import fcntl as F
from akuma.abi.errors import EAGAIN, EEXIST, EINVAL, ENOENT, EPERM
from akuma.abi.stat import S_IFREG, S_IFDIR, S_IFMT
from akuma.kernel.syscalls.args import s32, read_user, write_user
from akuma.kernel.syscalls.registry import syscall
from akuma.sched import Timer
from akuma.kernel.kernelfile import KernelFile, scatter_into as _scatter

O_CLOEXEC, O_NONBLOCK = 0o2000000, 0o4000
NSEC = 1_000_000_000
_ino = itertools.count(1 << 20)


def _nofile(p):
    from akuma.kernel.rlimit import RLIMIT_NOFILE
    return p.rlimits[RLIMIT_NOFILE][0]


def _install(t, f, flags):
    p = t.process
    return p.fds.install(f, cloexec=bool(flags & O_CLOEXEC), limit=_nofile(p))


def _gather(views, n):
    out = bytearray()
    for v in views:
        out += v[:n - len(out)]
        if len(out) >= n:
            break
    return bytes(out)


class AnonFile(KernelFile):
    """Common parts of an anonymous-inode file (anon_inode:[kind])."""
    opath = False
    readable = True
    writable = True
    kind = "anon"

    def __init__(self, sched, flags):
        self.sched = sched
        self.flags = F.O_RDWR | (flags & O_NONBLOCK)
        self.waiters = []
        self.ino = next(_ino)
        self.path = f"anon_inode:[{self.kind}]".encode()

    def add_waiter(self, t):
        if t not in self.waiters:
            self.waiters.append(t)

    def wake_all(self):
        waiters, self.waiters = self.waiters, []
        for t in waiters:
            self.sched.wake(t)

    def poll_ready(self):
        m = self.poll_mask()
        return bool(m & EPOLLIN), bool(m & EPOLLOUT)

    def stat(self):
        return Stat(mode=S_IFREG | 0o600, size=0, ino=self.ino, blksize=4096)

    def close(self):
        self.wake_all()


# -- eventfd ------------------------------------------------------------------------

EFD_SEMAPHORE = 1
EFD_MAX = 0xFFFFFFFFFFFFFFFE


class EventFd(AnonFile):
    kind = "eventfd"

    def __init__(self, sched, count, flags):
        super().__init__(sched, flags)
        self.count = count
        self.semaphore = bool(flags & EFD_SEMAPHORE)

    def poll_mask(self):
        return (EPOLLIN if self.count else 0) | (EPOLLOUT if self.count < EFD_MAX else 0)

    def readinto(self, views):
        if sum(len(v) for v in views) < 8:
            raise KernelError(EINVAL)
        if not self.count:
            raise KernelError(EAGAIN)
        val = 1 if self.semaphore else self.count
        self.count -= val
        self.wake_all()
        return _scatter(views, struct.pack("<Q", val))

    def writefrom(self, views):
        data = _gather(views, 8)
        if len(data) < 8:
            raise KernelError(EINVAL)
        (val,) = struct.unpack("<Q", data)
        if val == 0xFFFFFFFFFFFFFFFF:
            raise KernelError(EINVAL)
        if self.count + val > EFD_MAX:
            raise KernelError(EAGAIN)          # the caller blocks unless O_NONBLOCK
        if val:
            self.count += val
            self.wake_all()
        return 8


@syscall("eventfd2", "int hex")
def sys_eventfd2(t, initval, flags, *_):
    flags = s32(flags)
    if flags & ~(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE):
        return -EINVAL
    return _install(t, EventFd(t.kernel.sched, initval & 0xFFFFFFFF, flags), flags)


# -- timerfd ------------------------------------------------------------------------

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME = 0, 1, 7
TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET = 1, 2


def _now_ns(k, clk):
    from akuma.kernel.syscalls.time import clock_ns
    ns = clock_ns(k, clk)
    if ns is None:      # CLOCK_BOOTTIME where time.py does not know it
        ns = _time.monotonic_ns() - getattr(k, "boot_ns", 0)
    return ns


class TimerFd(AnonFile):
    kind = "timerfd"

    def __init__(self, kernel, clockid, flags):
        super().__init__(kernel.sched, flags)
        self.kernel = kernel
        self.clockid = clockid
        self.ticks = 0
        self.interval = 0.0          # seconds
        self.next = None             # monotonic deadline of the next expiry
        self.timer = Timer(self._fire)

    def poll_mask(self):
        return EPOLLIN if self.ticks else 0

    def _fire(self):
        if self.next is None:
            return
        now = _time.monotonic()
        n = 1
        if self.interval:
            n += int((now - self.next) / self.interval) if now > self.next else 0
            self.next += n * self.interval
            self.sched.arm(self.timer, self.next)
        else:
            self.next = None
        self.ticks += n
        self.wake_all()

    def current(self):
        """(interval_ns, value_ns) as timerfd_gettime reports them."""
        if self.next is None:
            return round(self.interval * NSEC), 0
        left = max(1, round((self.next - _time.monotonic()) * NSEC))
        return round(self.interval * NSEC), left

    def settime(self, flags, isec, insec, vsec, vnsec):
        self.ticks = 0
        self.interval = isec + insec / NSEC
        if vsec == 0 and vnsec == 0:
            self.next = None
            self.sched.arm(self.timer, None)
            return
        value_ns = vsec * NSEC + vnsec
        if flags & TFD_TIMER_ABSTIME:
            delta = (value_ns - _now_ns(self.kernel, self.clockid)) / NSEC
        else:
            delta = value_ns / NSEC
        self.next = _time.monotonic() + max(delta, 0.0)
        self.sched.arm(self.timer, self.next)

    def readinto(self, views):
        if sum(len(v) for v in views) < 8:
            raise KernelError(EINVAL)
        if not self.ticks:
            raise KernelError(EAGAIN)
        val, self.ticks = self.ticks, 0
        return _scatter(views, struct.pack("<Q", val))

    def close(self):
        self.next = None
        self.sched.arm(self.timer, None)
        super().close()


def _timerfd(t, fd):
    f = t.process.fds.get(s32(fd))
    if not isinstance(f, TimerFd):
        raise KernelError(EINVAL)
    return f


@syscall("timerfd_create", "int hex")
def sys_timerfd_create(t, clockid, flags, *_):
    clockid, flags = s32(clockid), s32(flags)
    if clockid not in (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME):
        return -EINVAL
    if flags & ~(O_CLOEXEC | O_NONBLOCK):
        return -EINVAL
    return _install(t, TimerFd(t.kernel, clockid, flags), flags)


def _itimerspec(ins, val):
    return struct.pack("<qqqq", ins // NSEC, ins % NSEC, val // NSEC, val % NSEC)


@syscall("timerfd_settime", "fd hex hex hex")
def sys_timerfd_settime(t, fd, flags, new, old, *_):
    flags = s32(flags)
    f = _timerfd(t, fd)
    if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        return -EINVAL
    isec, insec, vsec, vnsec = struct.unpack("<qqqq", read_user(t, new, 32))
    for sec, nsec in ((isec, insec), (vsec, vnsec)):
        if sec < 0 or not 0 <= nsec < NSEC:
            return -EINVAL
    if old:
        write_user(t, old, _itimerspec(*f.current()))
    f.settime(flags, isec, insec, vsec, vnsec)
    return 0


@syscall("timerfd_gettime", "fd hex")
def sys_timerfd_gettime(t, fd, cur, *_):
    f = _timerfd(t, fd)
    write_user(t, cur, _itimerspec(*f.current()))
    return 0


# -- signalfd ------------------------------------------------------------------------

SIGKILL, SIGSTOP, SIGCHLD = 9, 19, 17
SIGINFO_RECORD = 128


class SignalFd(AnonFile):
    kind = "signalfd"
    writable = False

    def __init__(self, kernel, mask, flags):
        super().__init__(kernel.sched, flags)
        self.kernel = kernel
        self.mask = mask
        self.flags = F.O_RDONLY | (flags & O_NONBLOCK)
        self.watched = set()        # processes whose send_signal wakes our readers

    def _task(self):
        return self.kernel.cpu.task

    def _pending(self, t):
        if t is None:
            return 0
        return (t.pending | t.process.pending_signals) & self.mask

    def poll_mask(self):
        return EPOLLIN if self._pending(self._task()) else 0

    def add_waiter(self, t):
        # send_signal wakes us when a signal in our mask arrives for t's process.
        super().add_waiter(t)
        t.process.signalfds.add(self)
        self.watched.add(t.process)

    def readinto(self, views):
        room = sum(len(v) for v in views) // SIGINFO_RECORD
        if room == 0:
            raise KernelError(EINVAL)
        t = self._task()
        out = bytearray()
        while len(out) // SIGINFO_RECORD < room:
            pend = self._pending(t)
            if not pend:
                break
            sig = (pend & -pend).bit_length()
            info = self.kernel.dequeue_signal(t, sig)
            out += _pack_ssi(sig, info)
        if not out:
            raise KernelError(EAGAIN)
        return _scatter(views, bytes(out))

    def close(self):
        for p in self.watched:
            p.signalfds.discard(self)
        self.watched.clear()
        super().close()


def _pack_ssi(sig, info):
    buf = bytearray(SIGINFO_RECORD)
    value = info.get("value", 0) or 0
    # ssi_tid/ssi_overrun: a POSIX timer's id and overrun (SI_TIMER).
    struct.pack_into("<IiiIIiIIIIii", buf, 0, sig, 0, s32(info.get("code", 0)),
                     info.get("pid", 0) & 0xFFFFFFFF, info.get("uid", 0) & 0xFFFFFFFF, 0,
                     info.get("tid", 0) & 0xFFFFFFFF, 0, info.get("overrun", 0) & 0xFFFFFFFF,
                     0, s32(info.get("status", 0)) if sig == SIGCHLD else 0,
                     s32(value & 0xFFFFFFFF))
    struct.pack_into("<QQQQ", buf, 48, value & (2**64 - 1), 0, 0,
                     info.get("addr", 0) & (2**64 - 1))
    return bytes(buf)


@syscall("signalfd4", "fd hex size hex")
def sys_signalfd4(t, fd, mask_ptr, sizemask, flags, *_):
    fd, flags = s32(fd), s32(flags)
    if sizemask != 8 or flags & ~(O_CLOEXEC | O_NONBLOCK):
        return -EINVAL
    (mask,) = struct.unpack("<Q", read_user(t, mask_ptr, 8))
    mask &= ~((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)))
    if fd == -1:
        return _install(t, SignalFd(t.kernel, mask, flags), flags)
    f = t.process.fds.get(fd)
    if not isinstance(f, SignalFd):
        return -EINVAL
    f.mask = mask
    f.wake_all()
    return fd


# -- epoll ------------------------------------------------------------------------------

EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP = 0x1, 0x2, 0x4, 0x8, 0x10
EPOLLRDNORM, EPOLLWRNORM, EPOLLRDHUP = 0x40, 0x100, 0x2000
EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET = 1 << 28, 1 << 29, 1 << 30, 1 << 31
EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EP_MAX_EVENTS = 0x7FFFFFFF // 16


def poll_mask(f):
    """Linux's poll mask (EPOLL* bits) for an open file."""
    from akuma.kernel.pipe import PipeEnd
    if hasattr(f, "poll_mask"):
        return f.poll_mask()
    if isinstance(f, PipeEnd):
        p = f.pipe
        if f.is_writer:
            return (EPOLLOUT | EPOLLWRNORM if p.nbytes < p.capacity else 0) | \
                (EPOLLERR if p.readers == 0 else 0)
        return (EPOLLIN | EPOLLRDNORM if p.nbytes else 0) | (EPOLLHUP if p.writers == 0 else 0)
    r, w = f.poll_ready() if hasattr(f, "poll_ready") else (True, True)
    return (EPOLLIN | EPOLLRDNORM if r else 0) | (EPOLLOUT | EPOLLWRNORM if w else 0)


class _Edge:
    """Parked on a watched file's wait list: notes that the file woke its
    waiters (an edge) and is then dropped (sched.wake ignores non-blocked)."""

    def __init__(self, reg):
        self.reg = reg

    @property
    def state(self):
        if self.reg.edge is self:
            self.reg.edge = None
            self.reg.changed = True
        return "R"


class _Reg:
    def __init__(self, fd, f, events, data):
        self.fd, self.file = fd, f
        self.events, self.data = events, data
        self.disabled = False
        self.changed = True        # a fresh registration reports current readiness
        self.last = 0
        self.edge = None

    def watch_edges(self):
        """Park an _Edge on files whose wait list only the scheduler walks."""
        from akuma.kernel.pipe import PipeEnd
        from akuma.net.socket import Socket
        if isinstance(self.file, (PipeEnd, AnonFile, Socket)) and self.edge is None:
            self.edge = _Edge(self)
            self.file.add_waiter(self.edge)


class Epoll(AnonFile):
    kind = "eventpoll"

    def __init__(self, sched):
        super().__init__(sched, 0)
        self.regs = {}              # (fd, id(file)) -> _Reg

    def _live(self):
        for key, reg in list(self.regs.items()):
            if getattr(reg.file, "refs", 1) <= 0:
                del self.regs[key]          # the file's last descriptor went away
        return list(self.regs.values())

    def _ready(self, reg):
        if reg.disabled:
            return 0
        mask = poll_mask(reg.file)
        return mask & (reg.events | EPOLLERR | EPOLLHUP)

    def poll_mask(self):
        for reg in self._live():
            rev = self._ready(reg)
            if rev and (not reg.events & EPOLLET or reg.changed or rev != reg.last):
                return EPOLLIN
        return 0

    def collect(self, maxevents):
        out = []
        for reg in self._live():
            if len(out) >= maxevents:
                break
            rev = self._ready(reg)
            if reg.events & EPOLLET:
                fire = rev and (reg.changed or rev != reg.last)
                reg.last = rev
                if fire or not rev:
                    reg.changed = False
                reg.watch_edges()
                if not fire:
                    continue
            elif not rev:
                continue
            out.append((rev, reg.data))
            if reg.events & EPOLLONESHOT:
                reg.disabled = True
        return out

    def add_waiter(self, t):
        super().add_waiter(t)
        for reg in self._live():
            if hasattr(reg.file, "add_waiter"):
                reg.file.add_waiter(t)

    def host_fds(self):
        return [(reg.file.host_fd, 1) for reg in self._live()
                if not hasattr(reg.file, "add_waiter") and reg.file.host_fd is not None]

    def close(self):
        self.regs.clear()
        super().close()


def _epoll(t, epfd):
    f = t.process.fds.get(s32(epfd))
    if not isinstance(f, Epoll):
        raise KernelError(EINVAL)
    return f


@syscall("epoll_create1", "hex")
def sys_epoll_create1(t, flags, *_):
    flags = s32(flags)
    if flags & ~O_CLOEXEC:
        return -EINVAL
    return _install(t, Epoll(t.kernel.sched), flags)


def _pollable(f):
    if isinstance(f, AnonFile):
        return True
    try:
        fmt = f.stat().mode & S_IFMT
    except KernelError:
        return True
    return fmt not in (S_IFREG, S_IFDIR) and hasattr(f, "poll_ready")


@syscall("epoll_ctl", "fd int fd hex")
def sys_epoll_ctl(t, epfd, op, fd, event, *_):
    op, fd = s32(op), s32(fd)
    ep = t.process.fds.get(s32(epfd))
    f = t.process.fds.get(fd)
    if not _pollable(f):
        return -EPERM
    if not isinstance(ep, Epoll) or f is ep:
        return -EINVAL
    if op not in (EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD):
        return -EINVAL
    events = data = 0
    if op != EPOLL_CTL_DEL:
        events, data = struct.unpack("<I4xQ", read_user(t, event, 16))
        if events & EPOLLEXCLUSIVE and (op == EPOLL_CTL_MOD or
                                        events & (EPOLLONESHOT | ~_EXCL_OK)):
            return -EINVAL
    key = (fd, id(f))
    reg = ep.regs.get(key)
    if op == EPOLL_CTL_ADD:
        if reg is not None:
            return -EEXIST
        ep.regs[key] = _Reg(fd, f, events | EPOLLERR | EPOLLHUP, data)
    elif reg is None:
        return -ENOENT
    elif op == EPOLL_CTL_DEL:
        del ep.regs[key]
    else:
        if reg.events & EPOLLEXCLUSIVE:
            return -EINVAL
        reg.events, reg.data = events | EPOLLERR | EPOLLHUP, data
        reg.disabled = False
        reg.changed, reg.last = True, 0
    ep.wake_all()
    return 0


_EXCL_OK = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM | EPOLLWRNORM | EPOLLET | \
    EPOLLWAKEUP | EPOLLEXCLUSIVE | EPOLLRDHUP | 0x80 | 0x200


def _epoll_wait(t, epfd, events, maxevents, timeout_s, sigmask, sigsetsize):
    """timeout_s: None (forever), 0, or seconds."""
    maxevents = s32(maxevents)
    if maxevents <= 0 or maxevents > EP_MAX_EVENTS:
        return -EINVAL
    f = t.process.fds.get(s32(epfd))
    if not isinstance(f, Epoll):
        return -EINVAL
    if not t.polling:
        if sigmask:
            if sigsetsize != 8:
                return -EINVAL
            (mask,) = struct.unpack("<Q", read_user(t, sigmask, 8))
            t.saved_sigmask = t.sigmask
            t.sigmask = mask & ~((1 << 8) | (1 << 18))
        t.poll_deadline = None if timeout_s is None else _time.monotonic() + timeout_s
        t.polling = True
    out = f.collect(maxevents)
    deadline = t.poll_deadline
    if out or (deadline is not None and _time.monotonic() >= deadline):
        t.polling, t.poll_deadline = False, None
        if t.saved_sigmask is not None:
            t.sigmask, t.saved_sigmask = t.saved_sigmask, None
        if out:
            write_user(t, events, b"".join(struct.pack("<I4xQ", ev, data) for ev, data in out))
        return len(out)
    f.add_waiter(t)
    t.kernel.sched.block(t, deadline=deadline, fds=f.host_fds())
    return None


@syscall("epoll_pwait", "fd hex int int hex size")
def sys_epoll_pwait(t, epfd, events, maxevents, timeout, sigmask, sigsetsize, *_):
    timeout = s32(timeout)
    return _epoll_wait(t, epfd, events, maxevents, None if timeout < 0 else timeout / 1000,
                       sigmask, sigsetsize)


@syscall("epoll_pwait2", "fd hex int hex hex size")
def sys_epoll_pwait2(t, epfd, events, maxevents, tmo, sigmask, sigsetsize, *_):
    timeout = None
    if tmo:
        sec, nsec = struct.unpack("<qq", read_user(t, tmo, 16))
        if sec < 0 or not 0 <= nsec < NSEC:
            return -EINVAL
        timeout = sec + nsec / NSEC
    return _epoll_wait(t, epfd, events, maxevents, timeout, sigmask, sigsetsize)
