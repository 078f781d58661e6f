"""pselect6: select(2)'s fd sets over the same readiness ppoll uses, with
its atomic signal mask and Linux's timeout write-back (the time left)."""
import struct
import time as _time

from akuma.abi.errors import EBADF, EINVAL
from akuma.kernel.syscalls.args import s32, read_user, write_user
from akuma.kernel.syscalls.fs import (POLLIN, POLLOUT, POLLPRI, POLLERR, POLLHUP,
                                      poll_revents, wait_for_files)
from akuma.kernel.syscalls.registry import syscall

_READ = POLLIN | POLLHUP | POLLERR       # Linux's POLLIN_SET
_WRITE = POLLOUT | POLLERR              # POLLOUT_SET
_EXCEPT = POLLPRI                       # POLLEX_SET
MAX_FDS = 1 << 16


def _read_set(t, ptr, words):
    if not ptr:
        return 0
    return int.from_bytes(read_user(t, ptr, 8 * words), "little")


def _write_set(t, ptr, words, bits):
    if ptr:
        write_user(t, ptr, bits.to_bytes(8 * words, "little"))


@syscall("pselect6", "int hex hex hex hex hex")
def sys_pselect6(t, nfds, rptr, wptr, eptr, tmo, sigdata, *_):
    nfds = s32(nfds)
    if nfds < 0:
        return -EINVAL
    nfds = min(nfds, MAX_FDS)           # Linux: bits past the fd table are ignored
    words = (nfds + 63) // 64
    first = getattr(t, "poll_deadline", None) is None and not getattr(t, "polling", False)
    if first:
        if tmo:
            sec, nsec = struct.unpack("<qq", read_user(t, tmo, 16))
            if sec < 0 or not 0 <= nsec < 1_000_000_000:
                return -EINVAL
            t.poll_deadline = _time.monotonic() + sec + nsec / 1e9
        if sigdata:
            ss, size = struct.unpack("<QQ", read_user(t, sigdata, 16))
            if ss:
                if size != 8:
                    return -EINVAL
                (mask,) = struct.unpack("<Q", read_user(t, ss, 8))
                t.saved_sigmask = t.sigmask
                t.sigmask = mask & ~((1 << 8) | (1 << 18))     # never SIGKILL/SIGSTOP
        t.polling = True
    limit = (1 << nfds) - 1
    rset, wset, eset = (_read_set(t, p, words) & limit for p in (rptr, wptr, eptr))
    want = rset | wset | eset
    rout = wout = eout = 0
    waits = []
    files = t.process.fds._files
    fd = 0
    while want >> fd:
        if not (want >> fd) & 1:
            fd += 1
            continue
        f = files.get(fd)
        if f is None:
            _finish(t)
            return -EBADF
        bit = 1 << fd
        rev = poll_revents(f, POLLIN | POLLOUT | POLLPRI)
        hit = False
        if rset & bit and rev & _READ:
            rout |= bit
            hit = True
        if wset & bit and rev & _WRITE:
            wout |= bit
            hit = True
        if eset & bit and rev & _EXCEPT:
            eout |= bit
            hit = True
        if not hit:
            waits.append(f)
        fd += 1
    ready = bin(rout).count("1") + bin(wout).count("1") + bin(eout).count("1")
    deadline = getattr(t, "poll_deadline", None)
    timed_out = tmo and (deadline is None or _time.monotonic() >= deadline)
    if ready or timed_out:
        for ptr, bits in ((rptr, rout), (wptr, wout), (eptr, eout)):
            _write_set(t, ptr, words, bits)
        if tmo:
            left = max(0.0, deadline - _time.monotonic()) if deadline is not None else 0.0
            sec = int(left)
            write_user(t, tmo, struct.pack("<qq", sec, int((left - sec) * 1e9)))
        _finish(t)
        return ready
    wait_for_files(t, waits, deadline)
    return None


def _finish(t):
    t.polling = False
    t.poll_deadline = None
    if t.saved_sigmask is not None:
        t.sigmask, t.saved_sigmask = t.saved_sigmask, None
