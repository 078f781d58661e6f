"""File syscalls: open/close/read/write and friends on the VFS."""
import struct

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi.errors import (EAGAIN, EBADF, EBUSY, EFAULT, EINVAL, ENOTDIR, EPERM, EPIPE,
                              ERANGE, EISDIR, ESPIPE)
from akuma.abi.signals import SIGPIPE
from akuma.mm import EFault
from akuma.kernel.syscalls.args import s32, s64, path_arg, read_user, write_user
from akuma.kernel.fifo import FifoWait
from akuma.kernel.syscalls.registry import syscall
from akuma.vfs import perm
from akuma.vfs.openfile import shrink_mapped

IOV_MAX = 1024
F_SETPIPE_SZ, F_GETPIPE_SZ = 1031, 1032
PIPE_MAX_SIZE = 1 << 20      # /proc/sys/fs/pipe-max-size
MAX_RW = 0x7FFFF000     # Linux caps one read/write at this


def fscred(t, real=False):
    """The credentials path operations check with: None for root (no
    checks), else the effective ids (the real ones for access(2))."""
    c = t.process.creds
    if real:
        return perm.fs_cred(c.uid, c.gid, c.groups)
    return perm.fs_cred(c.euid, c.egid, c.groups)


def _file(t, fd, readable=False, writable=False):
    f = t.process.fds.get(s32(fd))
    if getattr(f, "opath", False):
        raise KernelError(EBADF)
    if readable and not f.readable:
        raise KernelError(EBADF)
    if writable and not f.writable:
        raise KernelError(EBADF)
    return f


def _dir_of(t, dirfd, path):
    """The directory a *at() path is relative to."""
    if path.startswith(b"/"):
        return t.process.cwd
    dirfd = s32(dirfd)
    if dirfd == F.AT_FDCWD:
        return t.process.cwd
    f = t.process.fds.get(dirfd)
    if not f.stat().is_dir:
        raise KernelError(ENOTDIR)
    return f.path


def _user_buffers(t, addr, n, to_user):
    try:
        return t.process.aspace.buffers(addr, n, to_user)
    except EFault:
        raise KernelError(EFAULT) from None


def _would_block(t, f, write=False):
    """None (block until ready) or -EAGAIN for a file that is not ready."""
    if f.flags & F.O_NONBLOCK:
        return -EAGAIN
    if hasattr(f, "add_waiter"):
        f.add_waiter(t)
        t.kernel.sched.block(t)
        return None
    fd = f.host_fd
    if fd is None:
        return -EAGAIN
    t.kernel.sched.block(t, fds=[(fd, 4 if write else 1)])
    return None


def kill_suid(f):
    """file_remove_privs: a write by a non-root caller clears S_ISUID, and
    S_ISGID when the group may execute."""
    inode = f.inode
    mode = inode.mode
    drop = mode & 0o4000 | (mode & 0o2000 if mode & 0o010 else 0)
    if drop:
        inode.chmod(mode & 0o7777 & ~drop)


def _write_views(t, f, views):
    if hasattr(f, "write_as"):          # terminals: job control (TOSTOP)
        return f.write_as(t, views)
    if getattr(f, "kill_suid", False):
        kill_suid(f)
    try:
        return f.writefrom(views)
    except KernelError as e:
        if e.errno == EPIPE:
            t.kernel.send_signal(t.process, SIGPIPE, task=t)
            return -EPIPE
        if e.errno == EAGAIN and hasattr(f, "add_waiter"):
            return _would_block(t, f, write=True)
        raise


def _skip(views, n):
    """``views`` without their first ``n`` bytes."""
    out = []
    for v in views:
        if n >= len(v):
            n -= len(v)
            continue
        out.append(v[n:] if n else v)
        n = 0
    return out


def _write_all(t, f, key, views):
    """A blocking write to a pipe, FIFO or terminal takes every byte, as
    on Linux: when the buffer fills part-way, the task sleeps with its
    progress recorded (``t.partial_write``) and the re-executed SVC goes on
    from there.  A signal then ends the call with the count written so far
    (Signals._interrupted_syscall), never EINTR."""
    prog, t.partial_write = t.partial_write, None
    done = prog[1] if prog is not None and prog[0] == key else 0
    total = sum(len(v) for v in views)
    r = _write_views(t, f, _skip(views, done) if done else views)
    if r is None:                       # blocked before writing anything more
        if done:
            t.partial_write = (key, done)
        return None
    if r < 0:
        return done or r                # EPIPE after a partial write: the count
    done += r
    if done < total and not f.flags & F.O_NONBLOCK and hasattr(f, "add_waiter"):
        t.partial_write = (key, done)
        f.add_waiter(t)
        t.kernel.sched.block(t)
        return None
    return done


def _sock_io(t, f, views, write):
    from akuma.kernel.syscalls.net import sock_io
    return sock_io(t, f, views, write)


def _ready_for_read(f):
    return f.poll_ready()[0]


# -- read / write ---------------------------------------------------------------

@syscall("read", "fd rbuf size")
def sys_read(t, fd, buf, count, *_):
    f = _file(t, fd, readable=True)
    count = min(count, MAX_RW)
    if count == 0:
        return 0
    if hasattr(f, "read_as"):           # terminals: job control, VMIN/VTIME
        return f.read_as(t, count, lambda: _user_buffers(t, buf, count, True))
    if not _ready_for_read(f):
        return _would_block(t, f)
    pipe = getattr(f, "pipe", None)
    if pipe is not None and pipe.nbytes:
        # Linux copies only what the pipe holds: the rest of the buffer
        # may be unmapped without an EFAULT.
        count = min(count, pipe.nbytes)
    return f.readinto(_user_buffers(t, buf, count, True))


@syscall("write", "fd wbuf size")
def sys_write(t, fd, buf, count, *_):
    f = _file(t, fd, writable=True)
    count = min(count, MAX_RW)
    if count == 0:
        return 0
    if getattr(f, "is_socket", False):
        return _sock_io(t, f, _user_buffers(t, buf, count, False), True)
    return _write_all(t, f, ("write", fd, buf, count), _user_buffers(t, buf, count, False))


def _iovecs(t, iov, iovcnt):
    if iovcnt > IOV_MAX:
        raise KernelError(EINVAL)
    if iovcnt == 0:
        return []
    raw = read_user(t, iov, 16 * iovcnt)
    vecs = list(struct.iter_unpack("<QQ", raw))
    total = 0
    for _base, length in vecs:
        if length > MAX_RW:
            raise KernelError(EINVAL)
        total += length
    if total > MAX_RW * 2:
        raise KernelError(EINVAL)
    return vecs


def _gather(t, vecs, to_user):
    views = []
    for base, length in vecs:
        if length:
            views += _user_buffers(t, base, length, to_user)
    return views


@syscall("readv", "fd hex int")
def sys_readv(t, fd, iov, iovcnt, *_):
    f = _file(t, fd, readable=True)
    vecs = _iovecs(t, iov, iovcnt)
    if not any(length for _, length in vecs):
        return 0
    if hasattr(f, "read_as"):
        return f.read_as(t, sum(length for _, length in vecs), lambda: _gather(t, vecs, True))
    if not _ready_for_read(f):
        return _would_block(t, f)
    return f.readinto(_gather(t, vecs, True))


@syscall("writev", "fd hex int")
def sys_writev(t, fd, iov, iovcnt, *_):
    f = _file(t, fd, writable=True)
    views = _gather(t, _iovecs(t, iov, iovcnt), False)
    if not views:
        return 0
    if getattr(f, "is_socket", False):
        return _sock_io(t, f, views, True)
    return _write_all(t, f, ("writev", fd, iov, iovcnt), views)


@syscall("pread64", "fd rbuf size int")
def sys_pread64(t, fd, buf, count, off, *_):
    f = _file(t, fd, readable=True)
    if s64(off) < 0:
        return -EINVAL
    if not f.seekable:
        return -ESPIPE
    data = f.pread(min(count, MAX_RW), off)
    write_user(t, buf, data)
    return len(data)


@syscall("pwrite64", "fd wbuf size int")
def sys_pwrite64(t, fd, buf, count, off, *_):
    f = _file(t, fd, writable=True)
    if s64(off) < 0:
        return -EINVAL
    if not f.seekable:
        return -ESPIPE
    if getattr(f, "kill_suid", False):
        kill_suid(f)
    return f.pwrite(read_user(t, buf, min(count, MAX_RW)), off)


@syscall("lseek", "fd int int")
def sys_lseek(t, fd, off, whence, *_):
    f = _file(t, fd)
    whence = s32(whence)
    if whence not in (F.SEEK_SET, F.SEEK_CUR, F.SEEK_END, F.SEEK_DATA, F.SEEK_HOLE):
        return -EINVAL
    return f.lseek(s64(off), whence)


# -- open / close -----------------------------------------------------------------

@syscall("openat", "fd path oflags oct")
def sys_openat(t, dirfd, pathname, flags, mode, *_):
    p = t.process
    path = path_arg(t, pathname)
    flags = s32(flags)
    cwd = _dir_of(t, dirfd, path)
    c = p.creds
    cred = fscred(t)
    fifos = t.kernel.fifos
    fifos.opener = t
    try:
        f = t.kernel.vfs.open(path, flags, mode & 0o7777, cwd=cwd, umask=p.umask, root=p.root,
                              uid=c.euid, gid=c.egid, cred=cred)
    except FifoWait:
        t.kernel.sched.block(t)         # a FIFO's other side has not opened yet
        return None
    finally:
        fifos.opener = None
    if cred is not None and f.writable and f.stat().mode & 0o6000:
        f.kill_suid = True      # a write by a non-root caller clears set-id bits
    return p.fds.install(f, cloexec=bool(flags & F.O_CLOEXEC), limit=_nofile(p))


def _nofile(p):
    from akuma.kernel.rlimit import RLIMIT_NOFILE
    return p.rlimits[RLIMIT_NOFILE][0]


@syscall("close", "fd")
def sys_close(t, fd, *_):
    fds = t.process.fds
    f = fds.get(s32(fd))
    linger = getattr(f, "close_linger", None)
    if linger is not None and f.refs == 1 and linger(t) is None:
        return None                     # SO_LINGER: parked until sent or timed out
    fds.close(s32(fd))
    return 0


@syscall("dup", "fd")
def sys_dup(t, fd, *_):
    p = t.process
    return p.fds.install(p.fds.get(s32(fd)), limit=_nofile(p))


@syscall("dup3", "fd fd int")
def sys_dup3(t, old, new, flags, *_):
    p = t.process
    old, new, flags = s32(old), s32(new), s32(flags)
    if old == new or flags & ~F.O_CLOEXEC:
        return -EINVAL
    if new < 0 or new >= _nofile(p):
        return -EBADF
    p.fds.install_at(new, p.fds.get(old), cloexec=bool(flags & F.O_CLOEXEC))
    return new


@syscall("fcntl", "fd int hex")
def sys_fcntl(t, fd, cmd, arg, *_):
    p = t.process
    fd, cmd = s32(fd), s32(cmd)
    f = p.fds.get(fd)
    if cmd in (F.F_DUPFD, F.F_DUPFD_CLOEXEC):
        return p.fds.install(f, cloexec=cmd == F.F_DUPFD_CLOEXEC, lowest=s32(arg),
                             limit=_nofile(p))
    if cmd == F.F_GETFD:
        return F.FD_CLOEXEC if p.fds.is_cloexec(fd) else 0
    if cmd == F.F_SETFD:
        p.fds.set_cloexec(fd, bool(arg & F.FD_CLOEXEC))
        return 0
    if cmd == F.F_GETFL:
        return f.flags
    if cmd == F.F_SETFL:
        f.flags = (f.flags & ~F.SETFL_MASK) | (s32(arg) & F.SETFL_MASK)
        return 0
    if cmd in (F_GETPIPE_SZ, F_SETPIPE_SZ):
        pipe = getattr(f, "pipe", None)
        if pipe is None:
            return -EBADF
        if cmd == F_GETPIPE_SZ:
            return pipe.capacity
        size = s32(arg)
        if size < 0:
            return -EINVAL
        size = max(4096, 1 << (max(size, 1) - 1).bit_length())      # a power of two pages
        if size > PIPE_MAX_SIZE and t.process.creds.euid != 0:
            return -EPERM
        if size < pipe.nbytes:
            return -EBUSY
        pipe.capacity = size
        return size
    from akuma.kernel.syscalls.fsmeta import record_lock, RECORD_LOCK_CMDS
    if cmd in RECORD_LOCK_CMDS:
        return record_lock(t, fd, cmd, arg)
    own = getattr(f, "fcntl", None)      # file-specific commands (memfd seals)
    r = own(cmd, arg) if own is not None else None
    return -EINVAL if r is None else r


# -- metadata -----------------------------------------------------------------------

@syscall("fstat", "fd hex")
def sys_fstat(t, fd, statbuf, *_):
    st = t.process.fds.get(s32(fd)).stat()
    write_user(t, statbuf, st.pack())
    return 0


@syscall("newfstatat", "fd path hex hex")
def sys_newfstatat(t, dirfd, pathname, statbuf, flags, *_):
    flags = s32(flags)
    path = path_arg(t, pathname)
    if flags & ~(F.AT_SYMLINK_NOFOLLOW | F.AT_EMPTY_PATH | 0x800 | 0x6000):
        return -EINVAL
    if not path and flags & F.AT_EMPTY_PATH:
        if s32(dirfd) == F.AT_FDCWD:
            st = t.kernel.vfs.stat(t.process.cwd, cwd=b"/", root=t.process.root)
        else:
            st = t.process.fds.get(s32(dirfd)).stat()
    else:
        st = t.kernel.vfs.stat(path, cwd=_dir_of(t, dirfd, path),
                               follow=not flags & F.AT_SYMLINK_NOFOLLOW, root=t.process.root,
                               cred=fscred(t))
    write_user(t, statbuf, st.pack())
    return 0


AT_EACCESS = 0x200


@syscall("faccessat", "fd path int")
def sys_faccessat(t, dirfd, pathname, mode, *_):
    return sys_faccessat2(t, dirfd, pathname, mode, 0)


@syscall("faccessat2", "fd path int hex")
def sys_faccessat2(t, dirfd, pathname, mode, flags, *_):
    """access(2) checks with the real ids unless AT_EACCESS."""
    flags = s32(flags)
    if flags & ~(AT_EACCESS | F.AT_SYMLINK_NOFOLLOW | F.AT_EMPTY_PATH):
        return -EINVAL
    mode = s32(mode)
    if mode & ~7:
        return -EINVAL
    path = path_arg(t, pathname)
    p = t.process
    cred = fscred(t, real=not flags & AT_EACCESS)
    follow = not flags & F.AT_SYMLINK_NOFOLLOW
    if not path and flags & F.AT_EMPTY_PATH:
        dirfd = s32(dirfd)
        f = None if dirfd == F.AT_FDCWD else p.fds.get(dirfd)
        path, cwd = (p.cwd, b"/") if f is None else (f.path, b"/")
    else:
        cwd = _dir_of(t, dirfd, path)
    t.kernel.vfs.access(path, mode, cwd=cwd, root=p.root, follow=follow, cred=cred)
    return 0


@syscall("readlinkat", "fd path hex size")
def sys_readlinkat(t, dirfd, pathname, buf, size, *_):
    if s32(size) <= 0:
        return -EINVAL
    path = path_arg(t, pathname)
    target = t.kernel.vfs.readlink(path, cwd=_dir_of(t, dirfd, path),
                                  root=t.process.root, cred=fscred(t))[:size]
    write_user(t, buf, target)
    return len(target)


@syscall("getdents64", "fd hex size")
def sys_getdents64(t, fd, dirp, count, *_):
    f = _file(t, fd)
    data = f.getdents64(min(count, MAX_RW))
    write_user(t, dirp, data)
    return len(data)


@syscall("sendfile", "fd fd hex size")
def sys_sendfile(t, out_fd, in_fd, offset_ptr, count, *_):
    """Copy through a kernel buffer; with an offset pointer, in_fd's own
    position is left alone (sendfile(2))."""
    out = _file(t, out_fd, writable=True)
    src = _file(t, in_fd, readable=True)
    count = min(count, MAX_RW)
    # Wait for room first: input taken before a write that must block would
    # be lost when the call runs again (`cat file | ...` lost all but 64 KiB).
    if hasattr(out, "add_waiter") and not out.poll_ready()[1]:
        return _would_block(t, out, write=True)
    chunk = min(count, 1 << 20)
    pos = None
    if offset_ptr:
        (off,) = struct.unpack("<q", read_user(t, offset_ptr, 8))
        if off < 0:
            return -EINVAL
        data = src.pread(chunk, off)
    else:
        if not _ready_for_read(src):
            return _would_block(t, src)
        if src.seekable:
            # Read without moving; the position advances by what was sent.
            pos = src.lseek(0, F.SEEK_CUR)
            data = src.pread(chunk, pos)
        else:
            data = src.read(chunk)
    if not data:
        return 0
    n = _write_views(t, out, [memoryview(data)])
    if n is None or n < 0:
        return n
    if offset_ptr:
        write_user(t, offset_ptr, struct.pack("<q", off + n))
    elif pos is not None:
        src.lseek(pos + n, F.SEEK_SET)
    return n


@syscall("pipe2", "hex hex")
def sys_pipe2(t, fds_ptr, flags, *_):
    from akuma.kernel.pipe import Pipe, PipeEnd
    flags = s32(flags)
    if flags & ~(F.O_CLOEXEC | F.O_NONBLOCK | F.O_DIRECT):
        return -EINVAL
    pipe = Pipe(t.kernel.sched)
    r, w = PipeEnd(pipe, False, flags), PipeEnd(pipe, True, flags)
    return install_pair(t, r, w, bool(flags & F.O_CLOEXEC), fds_ptr)


def install_pair(t, a, b, cloexec, ptr):
    """pipe2/socketpair: both files get fds and their numbers go to ``ptr``,
    or neither does (every file closed again on failure)."""
    p = t.process
    try:
        fa = p.fds.install(a, cloexec=cloexec, limit=_nofile(p))
    except KernelError:
        a.close()
        b.close()
        raise
    try:
        fb = p.fds.install(b, cloexec=cloexec, limit=_nofile(p))
    except KernelError:
        p.fds.close(fa)
        b.close()
        raise
    try:
        write_user(t, ptr, struct.pack("<ii", fa, fb))
    except KernelError:
        p.fds.close(fa)
        p.fds.close(fb)
        raise
    return 0


POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 1, 2, 4, 8, 16, 32


def poll_revents(f, events):
    """The poll(2) revents of open file ``f`` for ``events`` (POLLERR and
    POLLHUP always count)."""
    rev = 0
    r, w = f.poll_ready() if hasattr(f, "poll_ready") else (True, True)
    if getattr(f, "is_socket", False):       # sockets know their HUP/ERR/RDHUP bits
        r = w = False
        rev = f.poll_events() & (events | POLLERR | POLLHUP)
    if r and events & POLLIN:
        rev |= POLLIN
    if w and events & POLLOUT:
        rev |= POLLOUT
    if hasattr(f, "pipe") and f.readable and f.pipe.writers == 0:
        rev |= POLLHUP
    if hasattr(f, "poll_mask"):
        rev |= f.poll_mask() & (POLLERR | POLLHUP)
    return rev


def wait_for_files(t, files, deadline):
    """Park ``t`` until one of ``files`` may be ready or ``deadline``."""
    host = []
    for f in files:
        if hasattr(f, "add_waiter"):
            f.add_waiter(t)
        elif f.host_fd is not None:
            host.append((f.host_fd, 1))
    t.kernel.sched.block(t, deadline=deadline, fds=host)


@syscall("ppoll", "hex int hex hex size")
def sys_ppoll(t, fds_ptr, nfds, tmo, sigmask, sigsetsize, *_):
    import time as _time
    if nfds > 4096:
        return -EINVAL
    if getattr(t, "poll_deadline", None) is None and not getattr(t, "polling", False):
        if sigmask:
            if sigsetsize != 8:
                return -EINVAL
            (mask,) = struct.unpack("<Q", read_user(t, sigmask, 8))
            t.saved_sigmask = t.sigmask
            t.sigmask = mask & ~((1 << 8) | (1 << 18))
        if tmo:
            sec, nsec = struct.unpack("<qq", read_user(t, tmo, 16))
            if sec < 0 or not 0 <= nsec < 1_000_000_000:
                return -EINVAL
            t.poll_deadline = _time.monotonic() + sec + nsec / 1e9
        t.polling = True
    raw = bytearray(read_user(t, fds_ptr, 8 * nfds)) if nfds else bytearray()
    ready = 0
    waits = []
    for i in range(nfds):
        fd, events, _rev = struct.unpack_from("<ihh", raw, 8 * i)
        rev = 0
        if fd >= 0:
            f = t.process.fds._files.get(fd)
            if f is None:
                rev = POLLNVAL
            else:
                rev = poll_revents(f, events)
                if not rev:
                    waits.append(f)
        struct.pack_into("<h", raw, 8 * i + 6, rev)
        ready += bool(rev)
    deadline = getattr(t, "poll_deadline", None)
    timed_out = tmo and (deadline is None or _time.monotonic() >= deadline)
    if ready or timed_out:
        t.polling = False
        t.poll_deadline = None
        if t.saved_sigmask is not None:
            t.sigmask, t.saved_sigmask = t.saved_sigmask, None
        if nfds:
            write_user(t, fds_ptr, bytes(raw))
        return ready
    wait_for_files(t, waits, deadline)
    return None


# -- the namespace ----------------------------------------------------------------------

@syscall("getcwd", "hex size")
def sys_getcwd(t, buf, size, *_):
    cwd = t.process.cwd + b"\0"
    if size < len(cwd):
        return -ERANGE
    write_user(t, buf, cwd)
    return len(cwd)


@syscall("chdir", "path")
def sys_chdir(t, pathname, *_):
    p = t.process
    path = path_arg(t, pathname)
    p.cwd = t.kernel.vfs.resolve_dir(path, cwd=p.cwd, root=p.root, cred=fscred(t))
    return 0


@syscall("fchdir", "fd")
def sys_fchdir(t, fd, *_):
    f = t.process.fds.get(s32(fd))
    st = f.stat()
    if not st.is_dir:
        return -ENOTDIR
    cred = fscred(t)
    inode = getattr(f, "inode", None)
    if cred is not None and inode is not None:
        perm.check(inode, cred, perm.X_OK)
    t.process.cwd = f.path
    return 0


@syscall("mkdirat", "fd path oct")
def sys_mkdirat(t, dirfd, pathname, mode, *_):
    path = path_arg(t, pathname)
    c = t.process.creds
    t.kernel.vfs.mkdir(path, (mode & 0o7777) & ~t.process.umask, cwd=_dir_of(t, dirfd, path),
                       root=t.process.root, uid=c.euid, gid=c.egid, cred=fscred(t))
    return 0


@syscall("unlinkat", "fd path hex")
def sys_unlinkat(t, dirfd, pathname, flags, *_):
    path = path_arg(t, pathname)
    flags = s32(flags)
    if flags & ~F.AT_REMOVEDIR:
        return -EINVAL
    cwd = _dir_of(t, dirfd, path)
    if flags & F.AT_REMOVEDIR:
        t.kernel.vfs.rmdir(path, cwd=cwd, root=t.process.root, cred=fscred(t))
    else:
        t.kernel.vfs.unlink(path, cwd=cwd, root=t.process.root, cred=fscred(t))
    return 0


@syscall("symlinkat", "path fd path")
def sys_symlinkat(t, target, dirfd, linkpath, *_):
    tgt = path_arg(t, target)
    path = path_arg(t, linkpath)
    c = t.process.creds
    t.kernel.vfs.symlink(tgt, path, cwd=_dir_of(t, dirfd, path), root=t.process.root,
                         uid=c.euid, gid=c.egid, cred=fscred(t))
    return 0


@syscall("renameat", "fd path fd path")
def sys_renameat(t, olddirfd, oldpath, newdirfd, newpath, *_):
    old = path_arg(t, oldpath)
    new = path_arg(t, newpath)
    t.kernel.vfs.rename(old, new, cwd=_dir_of(t, olddirfd, old),
                        newcwd=_dir_of(t, newdirfd, new), root=t.process.root, cred=fscred(t))
    return 0


@syscall("renameat2", "fd path fd path hex")
def sys_renameat2(t, olddirfd, oldpath, newdirfd, newpath, flags, *_):
    from akuma.kernel.syscalls.fsmeta import renameat2_flags
    return renameat2_flags(t, olddirfd, oldpath, newdirfd, newpath, flags)


@syscall("umask", "oct")
def sys_umask(t, mask, *_):
    old = t.process.umask
    t.process.umask = mask & 0o777
    return old


@syscall("ftruncate", "fd int")
def sys_ftruncate(t, fd, length, *_):
    f = _file(t, fd, writable=True)
    if s64(length) < 0:
        return -EINVAL
    st = f.stat()
    if st.is_dir:
        return -EISDIR
    f.truncate(length)
    if st.is_reg:
        shrink_mapped(getattr(f, "inode", None), length, st.size)
    return 0


@syscall("fsync", "fd")
def sys_fsync(t, fd, *_):
    f = t.process.fds.get(s32(fd))
    if hasattr(f, "fsync"):
        f.fsync()
    return 0


@syscall("fdatasync", "fd")
def sys_fdatasync(t, fd, *_):
    return sys_fsync(t, fd)


@syscall("sync")
def sys_sync(t, *_):
    from akuma.kernel.syscalls.fsmeta import sync_all
    return sync_all(t)


# mount(2) and umount2(2) live in mount.py; importing it registers them.
from akuma.kernel.syscalls import mount as _mount  # noqa: E402,F401
