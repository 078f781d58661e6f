"""Advisory file locks: flock(2) and fcntl(2) record locks (classic POSIX
locks owned by the fd table, and open-file-description "OFD" locks).

State is per kernel (``LockTable``).  Locks are keyed by the inode's
``key`` (a hostfs file has one key however often it is looked up).

Owners and lifetimes, as on Linux:
- flock and OFD locks belong to the open file description (the OpenFile):
  dup/fork share them; they go when the description is closed.
- POSIX locks belong to the fd table (a process and its threads; a forked
  child has its own table, so it inherits none); they go when the owner
  closes ANY descriptor of the file, or exits.

The fd layer does not tell us about closes yet, so releases are noticed
lazily: every lock operation first drops locks whose owner is gone (an OFD
that is closed; a POSIX owner that exited or closed one of the descriptors
it had for the file when it last locked it).  Waiters are woken explicitly
on unlock and re-check every ``POLL`` seconds for lazy releases (a holder
exiting).  A hook at close time (FdTable.close / exit calling a release
function here) would make the release immediate.

Blocking uses the kernel's restart model: the handler parks the task and
returns None; the syscall runs again when it is woken."""
import struct
import time
import weakref

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi.errors import EAGAIN, EBADF, EDEADLK, EINVAL, EOVERFLOW
from akuma.kernel.syscalls.args import s32, read_user, write_user

F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
RECORD_CMDS = (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN, LOCK_MAND = 1, 2, 4, 8, 32
OFFSET_MAX = (1 << 63) - 1
POLL = 0.05

# struct flock (asm-generic, 64-bit): short l_type, short l_whence, off_t l_start,
# off_t l_len, pid_t l_pid (+4 bytes of padding) = 32 bytes.
FLOCK = struct.Struct("<hh4xqqi4x")
assert FLOCK.size == 32

def file_key(f):
    inode = getattr(f, "inode", None)
    if inode is not None:
        return inode.key
    pipe = getattr(f, "pipe", None)
    if pipe is not None:
        return ("pipe", id(pipe))
    return ("ofd", id(f))


def _ofd_alive(f):
    return not getattr(f, "closed", False) and getattr(f, "refs", 1) > 0


class _Lock:
    __slots__ = ("owner", "start", "end", "type", "pid", "ofd")

    def __init__(self, owner, start, end, typ, pid, ofd):
        self.owner, self.start, self.end, self.type = owner, start, end, typ
        self.pid, self.ofd = pid, ofd

    def overlaps(self, start, end):
        return self.start <= end and start <= self.end

    def __repr__(self):
        return f"<lock {'ofd' if self.ofd else 'posix'} {self.type} [{self.start},{self.end}]>"


class _PosixOwner:
    """What we know of a POSIX lock owner (an fd table) for one file: its
    process and the descriptors it had for the file."""
    __slots__ = ("process", "fds")

    def __init__(self, process):
        self.process = process
        self.fds = {}          # fd -> OpenFile


class LockTable:
    def __init__(self):
        self.records = {}      # key -> [_Lock]   (POSIX and OFD share one space)
        self.flocks = {}       # key -> {id(OpenFile): (OpenFile, type)}
        self.owners = {}       # (id(fdtable), key) -> _PosixOwner
        self.waiters = {}      # key -> [Task]
        self.waiting = {}      # id(owner) -> (task, key, start, end, type)

    # -- waiting ---------------------------------------------------------------------
    def park(self, t, key):
        ws = self.waiters.setdefault(key, [])
        if t not in ws:
            ws.append(t)
        t.kernel.sched.block(t, deadline=time.monotonic() + POLL)

    def wake(self, sched, key):
        for t in self.waiters.pop(key, ()):
            sched.wake(t)

    # -- lazy release ------------------------------------------------------------------
    def _posix_valid(self, lock, key):
        info = self.owners.get((id(lock.owner), key))
        if info is None:
            return False
        p = info.process
        if getattr(p, "exit_status", None) is not None:
            return False
        fds = lock.owner
        for fd, f in info.fds.items():
            if fd not in fds or fds.get(fd) is not f:
                return False
        return True

    def prune(self, sched, key):
        """Drop the locks on ``key`` whose owners are gone; wake waiters if any went."""
        changed = False
        recs = self.records.get(key)
        if recs:
            keep = [lk for lk in recs
                    if (_ofd_alive(lk.owner) if lk.ofd else self._posix_valid(lk, key))]
            if len(keep) != len(recs):
                changed = True
                if keep:
                    self.records[key] = keep
                else:
                    del self.records[key]
            live = {id(lk.owner) for lk in keep}
            for ok in [k for k in self.owners if k[1] == key and k[0] not in live]:
                del self.owners[ok]
        fl = self.flocks.get(key)
        if fl:
            dead = [k for k, (f, _) in fl.items() if not _ofd_alive(f)]
            for k in dead:
                del fl[k]
                changed = True
            if not fl:
                del self.flocks[key]
        if changed:
            self.wake(sched, key)

    def note_owner(self, t, key):
        """Remember which descriptors the POSIX owner has for ``key`` now."""
        fds = t.process.fds
        info = self.owners.get((id(fds), key))
        if info is None:
            info = self.owners[(id(fds), key)] = _PosixOwner(t.process)
        for fd, f in fds.items():
            if file_key(f) == key:
                info.fds[fd] = f

    # -- record locks ----------------------------------------------------------------------
    def conflict(self, key, owner, start, end, typ):
        for lk in self.records.get(key, ()):
            if lk.owner is owner or not lk.overlaps(start, end):
                continue
            if typ == F_WRLCK or lk.type == F_WRLCK:
                return lk
        return None

    def apply(self, key, owner, start, end, typ, pid, ofd):
        """Set (or with F_UNLCK clear) ``owner``'s lock on [start, end]:
        split, replace and merge its existing ranges like Linux."""
        out = []
        for lk in self.records.get(key, ()):
            if lk.owner is not owner or lk.end < start - 1 or lk.start > end + 1:
                out.append(lk)
                continue
            if lk.type == typ:                     # same type: coalesce
                start, end = min(start, lk.start), max(end, lk.end)
                continue
            if lk.end < start or lk.start > end:   # merely adjacent, other type
                out.append(lk)
                continue
            if lk.start < start:
                out.append(_Lock(owner, lk.start, start - 1, lk.type, lk.pid, ofd))
            if lk.end > end:
                out.append(_Lock(owner, end + 1, lk.end, lk.type, lk.pid, ofd))
        if typ != F_UNLCK:
            out.append(_Lock(owner, start, end, typ, pid, ofd))
        out.sort(key=lambda lk: (lk.start, lk.end))
        if out:
            self.records[key] = out
        else:
            self.records.pop(key, None)

    def deadlock(self, key, owner, start, end, typ):
        """Would ``owner`` waiting for this range close a cycle of POSIX waiters?"""
        seen = set()
        blocker = self.conflict(key, owner, start, end, typ)
        for _ in range(10):                       # Linux's MAX_DEADLK_ITERATIONS
            if blocker is None or blocker.ofd:
                return False
            if blocker.owner is owner:
                return True
            w = self.waiting.get(id(blocker.owner))
            if w is None or id(blocker.owner) in seen:
                return False
            seen.add(id(blocker.owner))
            task, wkey, ws, we, wt = w
            # Still parked in (or about to re-run) its fcntl: a signal clears
            # blocked_nr, an exit leaves the process dead.
            if getattr(task, "blocked_nr", None) != "fcntl" or task.state == "Z" or \
                    getattr(task.process, "exit_status", None) is not None:
                return False
            blocker = self.conflict(wkey, blocker.owner, ws, we, wt)
        return False


_tables = weakref.WeakKeyDictionary()


def table(kernel):
    tab = _tables.get(kernel)
    if tab is None:
        tab = _tables[kernel] = LockTable()
    return tab


# -- flock(2) ---------------------------------------------------------------------------------

def do_flock(t, fd, op):
    op &= 0xFFFFFFFF
    if op & LOCK_MAND:                      # ignored by Linux since 5.x
        return 0
    cmd = op & ~LOCK_NB
    typ = {LOCK_SH: F_RDLCK, LOCK_EX: F_WRLCK, LOCK_UN: F_UNLCK}.get(cmd)
    if typ is None:
        raise KernelError(EINVAL)
    f = t.process.fds.get(s32(fd))
    if getattr(f, "opath", False):
        raise KernelError(EBADF)
    tab = table(t.kernel)
    sched = t.kernel.sched
    key = file_key(f)
    tab.prune(sched, key)
    fl = tab.flocks.setdefault(key, {})
    mine = fl.get(id(f))
    if mine is not None:
        if mine[1] == typ:
            return 0
        del fl[id(f)]                       # a conversion drops the old lock first
        tab.wake(sched, key)
    if typ == F_UNLCK:
        if not fl:
            tab.flocks.pop(key, None)
        return 0
    for other, otyp in fl.values():
        if other is not f and (typ == F_WRLCK or otyp == F_WRLCK):
            if op & LOCK_NB:
                raise KernelError(EAGAIN)   # EWOULDBLOCK
            tab.park(t, key)
            return None
    fl[id(f)] = (f, typ)
    return 0


# -- fcntl record locks ----------------------------------------------------------------------

def _range(f, whence, start, length):
    """(start, end) as flock64_to_posix_lock computes them."""
    if whence == F.SEEK_SET:
        base = 0
    elif whence == F.SEEK_CUR:
        base = getattr(f, "pos", 0) if getattr(f, "seekable", False) else 0
    elif whence == F.SEEK_END:
        base = f.stat().size
    else:
        raise KernelError(EINVAL)
    if start > OFFSET_MAX - base:
        raise KernelError(EOVERFLOW)
    start += base
    if start < 0:
        raise KernelError(EINVAL)
    if length > 0:
        if length - 1 > OFFSET_MAX - start:
            raise KernelError(EOVERFLOW)
        end = start + length - 1
    elif length < 0:
        if start + length < 0:
            raise KernelError(EINVAL)
        end = start - 1
        start += length
    else:
        end = OFFSET_MAX
    return start, end


def record_lock(t, fd, cmd, arg):
    """fcntl(fd, F_GETLK/F_SETLK/F_SETLKW/F_OFD_GETLK/F_OFD_SETLK/F_OFD_SETLKW, arg)."""
    fd, cmd = s32(fd), s32(cmd)
    f = t.process.fds.get(fd)
    if getattr(f, "opath", False):
        raise KernelError(EBADF)
    raw = read_user(t, arg, FLOCK.size)
    l_type, l_whence, l_start, l_len, l_pid = FLOCK.unpack(raw)
    ofd = cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
    getlk = cmd in (F_GETLK, F_OFD_GETLK)
    if getlk and l_type not in (F_RDLCK, F_WRLCK):
        raise KernelError(EINVAL)
    start, end = _range(f, l_whence, l_start, l_len)
    if l_type not in (F_RDLCK, F_WRLCK, F_UNLCK):
        raise KernelError(EINVAL)
    if not getlk:
        if l_type == F_RDLCK and not f.readable:
            raise KernelError(EBADF)
        if l_type == F_WRLCK and not f.writable:
            raise KernelError(EBADF)
    if ofd and l_pid != 0:
        raise KernelError(EINVAL)
    owner = f if ofd else t.process.fds
    tab = table(t.kernel)
    sched = t.kernel.sched
    key = file_key(f)
    tab.prune(sched, key)
    if getlk:
        c = tab.conflict(key, owner, start, end, l_type)
        if c is None:
            out = FLOCK.pack(F_UNLCK, l_whence, l_start, l_len, l_pid)
        else:
            length = 0 if c.end == OFFSET_MAX else c.end - c.start + 1
            out = FLOCK.pack(c.type, F.SEEK_SET, c.start, length, -1 if c.ofd else c.pid)
        write_user(t, arg, out)
        return 0
    tab.waiting.pop(id(owner), None)
    if l_type != F_UNLCK:
        c = tab.conflict(key, owner, start, end, l_type)
        if c is not None:
            if cmd in (F_SETLK, F_OFD_SETLK):
                raise KernelError(EAGAIN)
            if not ofd and tab.deadlock(key, owner, start, end, l_type):
                raise KernelError(EDEADLK)
            tab.waiting[id(owner)] = (t, key, start, end, l_type)
            tab.park(t, key)
            return None
    tab.apply(key, owner, start, end, l_type, t.process.pid, ofd)
    if not ofd:
        tab.note_owner(t, key)
    tab.wake(sched, key)
    return 0


__all__ = ["record_lock", "do_flock", "RECORD_CMDS", "LockTable", "table"]
