"""Signal syscalls.  Actions and masks are recorded here; delivery to user
handlers (rt_sigframe) comes with the signals work, until then a signal
with a handler installed is left pending and default actions apply."""
import struct

from akuma.abi import KernelError
from akuma.abi.errors import EAGAIN, EINTR, EINVAL, EPERM, ESRCH
from akuma.abi.signals import NSIG, SIGKILL, SIGSTOP
from akuma.kernel.task import SigAction
from akuma.kernel.syscalls.args import s32, read_user, write_user
from akuma.kernel.syscalls.registry import syscall

SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))


def _sig(v, allow_zero=False):
    sig = s32(v)
    if not (0 if allow_zero else 1) <= sig <= NSIG:
        raise KernelError(EINVAL)
    return sig


@syscall("rt_sigaction", "sig hex hex size")
def sys_rt_sigaction(t, signum, act, oldact, sigsetsize, *_):
    if sigsetsize != 8:
        return -EINVAL
    sig = _sig(signum)
    p = t.process
    new = None
    if act:
        if sig in (SIGKILL, SIGSTOP):
            return -EINVAL
        handler, flags, restorer, mask = struct.unpack("<QQQQ", read_user(t, act, 32))
        new = SigAction(handler, flags, restorer, mask & ~UNBLOCKABLE)
    if oldact:
        o = p.sigactions[sig]
        write_user(t, oldact, struct.pack("<QQQQ", o.handler, o.flags, o.restorer, o.mask))
    if new is not None:
        p.sigactions[sig] = new
    return 0


@syscall("rt_sigprocmask", "int hex hex size")
def sys_rt_sigprocmask(t, how, nset, oset, sigsetsize, *_):
    if sigsetsize != 8:
        return -EINVAL
    how = s32(how)
    new = None
    if nset:
        (mask,) = struct.unpack("<Q", read_user(t, nset, 8))
        if how == SIG_BLOCK:
            new = t.sigmask | mask
        elif how == SIG_UNBLOCK:
            new = t.sigmask & ~mask
        elif how == SIG_SETMASK:
            new = mask
        else:
            return -EINVAL
    if oset:
        write_user(t, oset, struct.pack("<Q", t.sigmask))
    if new is not None:
        t.sigmask = new & ~UNBLOCKABLE
        if t.kernel.deliverable(t):
            t.kernel.cpu.request_stop()     # a pending signal just got unblocked
    return 0


@syscall("sigaltstack", "hex hex", note="partial: recorded")
def sys_sigaltstack(t, ss, old, *_):
    cur = getattr(t, "altstack", (0, 2, 0))     # sp, flags (SS_DISABLE), size
    if old:
        write_user(t, old, struct.pack("<QiiQ", cur[0], cur[1], 0, cur[2]))
    if ss:
        sp, flags, _pad, size = struct.unpack("<QiiQ", read_user(t, ss, 24))
        t.altstack = (sp, flags, size)
    return 0


@syscall("kill", "int sig")
def sys_kill(t, pid, signum, *_):
    pid = s32(pid)
    sig = _sig(signum, allow_zero=True)
    k = t.kernel
    if pid > 0:
        targets = [k.processes.get(pid)]
    elif pid == 0:
        targets = [p for p in k.processes.values() if p.pgid == t.process.pgid]
    elif pid == -1:
        # Every process but init and the caller, as Linux does.
        targets = [p for p in k.processes.values() if p.pid != 1 and p is not t.process]
    else:
        targets = [p for p in k.processes.values() if p.pgid == -pid]
    targets = [p for p in targets if p is not None and p.alive]
    if not targets:
        return -ESRCH
    for p in targets:
        if sig:
            k.send_signal(p, sig, pid=t.process.pid, uid=t.process.creds.uid)
    return 0


@syscall("tgkill", "int int sig")
def sys_tgkill(t, tgid, tid, signum, *_):
    sig = _sig(signum, allow_zero=True)
    task = t.kernel.tasks.get(s32(tid))
    if task is None or task.process.pid != s32(tgid) or not task.process.alive:
        return -ESRCH
    if sig:
        t.kernel.send_signal(task.process, sig, code=-6, pid=t.process.pid,  # SI_TKILL
                             uid=t.process.creds.uid, task=task)
    return 0


@syscall("tkill", "int sig")
def sys_tkill(t, tid, signum, *_):
    task = t.kernel.tasks.get(s32(tid))
    if task is None:
        return -ESRCH
    return sys_tgkill(t, task.process.pid, tid, signum)


@syscall("rt_sigreturn")
def sys_rt_sigreturn(t, *_):
    return t.kernel.sigreturn(t)


@syscall("rt_sigsuspend", "hex size")
def sys_rt_sigsuspend(t, mask, size, *_):
    """Wait with a temporary mask for a signal with a handler; -EINTR.  The
    frame saves the mask from before the call (Linux's saved_sigmask), so
    sigreturn restores it."""
    if size != 8:
        return -EINVAL
    if t.saved_sigmask is None:
        (new,) = struct.unpack("<Q", read_user(t, mask, 8))
        t.saved_sigmask = t.sigmask
        t.sigmask = new & ~UNBLOCKABLE
    if t.kernel.deliverable(t):
        t.kernel.cpu.request_stop()      # deliver before returning to the program
        return -EINTR
    t.kernel.sched.block(t)
    return None


@syscall("rt_sigpending", "hex size")
def sys_rt_sigpending(t, setp, size, *_):
    if size > 8:
        return -EINVAL
    write_user(t, setp, struct.pack("<Q", t.process.pending_signals)[:size])
    return 0


def _queueinfo(t, target_proc, task, sig, uinfo):
    raw = read_user(t, uinfo, 128)
    code, = struct.unpack_from("<i", raw, 8)
    pid, uid, value = struct.unpack_from("<iIQ", raw, 16)
    # Only the kernel may claim kernel si_codes, except to oneself (Linux).
    if (code >= 0 or code == -6) and target_proc is not t.process:
        return -EPERM
    t.kernel.send_signal(target_proc, sig, code=code, pid=pid, uid=uid, value=value, task=task)
    return 0


@syscall("rt_sigqueueinfo", "int sig hex")
def sys_rt_sigqueueinfo(t, tgid, signum, uinfo, *_):
    sig = _sig(signum)
    p = t.kernel.processes.get(s32(tgid))
    if p is None or not p.alive:
        return -ESRCH
    return _queueinfo(t, p, None, sig, uinfo)


@syscall("rt_tgsigqueueinfo", "int int sig hex")
def sys_rt_tgsigqueueinfo(t, tgid, tid, signum, uinfo, *_):
    sig = _sig(signum)
    task = t.kernel.tasks.get(s32(tid))
    if task is None or task.process.pid != s32(tgid) or not task.process.alive:
        return -ESRCH
    return _queueinfo(t, task.process, task, sig, uinfo)


@syscall("rt_sigtimedwait", "hex hex hex size")
def sys_rt_sigtimedwait(t, uset, uinfo, uts, sigsetsize, *_):
    import time as _time
    from akuma.kernel.signals import pack_siginfo
    if sigsetsize != 8:
        return -EINVAL
    k = t.kernel
    if not t.sigwait_set:
        (wanted,) = struct.unpack("<Q", read_user(t, uset, 8))
        wanted &= ~UNBLOCKABLE
        if uts:
            sec, nsec = struct.unpack("<qq", read_user(t, uts, 16))
            if sec < 0 or not 0 <= nsec < 1_000_000_000:
                return -EINVAL
            t.sigwait_deadline = _time.monotonic() + sec + nsec / 1e9
        t.sigwait_set = wanted or 1 << 63
    wanted = t.sigwait_set
    ready = (t.pending | t.process.pending_signals) & wanted
    if ready:
        sig = (ready & -ready).bit_length()
        info = k.dequeue_signal(t, sig)
        t.sigwait_set, t.sigwait_deadline = 0, None
        if uinfo:
            write_user(t, uinfo, pack_siginfo(sig, info))
        return sig
    if t.sigwait_deadline is not None and _time.monotonic() >= t.sigwait_deadline:
        t.sigwait_set, t.sigwait_deadline = 0, None
        return -EAGAIN
    k.sched.block(t, deadline=t.sigwait_deadline)
    return None
