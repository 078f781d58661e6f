"""Signals: queueing, default actions, delivery on an AArch64 rt_sigframe
(siginfo + ucontext with the general registers and the FP/SIMD state, as
arch/arm64/kernel/signal.c lays it out) and rt_sigreturn.  A mixin of
Kernel; delivery happens to the task loaded in the CPU, before it runs."""
import struct

from akuma.abi import signals as S
from akuma.abi.errors import EINTR
from akuma.mm import EFault

SA_NOCLDSTOP, SA_NOCLDWAIT, SA_SIGINFO = 0x1, 0x2, 0x4
SA_ONSTACK, SA_RESTART, SA_NODEFER, SA_RESETHAND = 0x08000000, 0x10000000, 0x40000000, 0x80000000
SA_RESTORER = 0x04000000
SS_ONSTACK, SS_DISABLE = 1, 2
SI_TIMER = -2
CLD_STOPPED, CLD_CONTINUED = 5, 6
UNBLOCKABLE = (1 << (S.SIGKILL - 1)) | (1 << (S.SIGSTOP - 1))

# rt_sigframe layout (bytes)
SIGINFO_SIZE = 128
UC_OFF = SIGINFO_SIZE                 # struct ucontext
UC_SIGMASK = UC_OFF + 40
MCTX = UC_OFF + 176                   # struct sigcontext (16-aligned)
MCTX_FAULT, MCTX_REGS = MCTX, MCTX + 8
MCTX_SP, MCTX_PC, MCTX_PSTATE = MCTX + 256, MCTX + 264, MCTX + 272
RESERVED = MCTX + 288                 # __reserved[4096]
FRAME_SIZE = RESERVED + 4096
FPSIMD_MAGIC, FPSIMD_SIZE = 0x46508001, 528
NZCV_MASK = 0xF0000000

# Syscalls that SA_RESTART restarts (others return EINTR when interrupted).
_RESTARTABLE = {"read", "readv", "write", "writev", "wait4", "waitid", "futex", "pread64",
                "pwrite64", "ioctl", "openat", "accept", "accept4", "recvfrom", "recvmsg",
                "sendto", "sendmsg", "connect", "flock", "fcntl"}


def _bit(sig):
    return 1 << (sig - 1)


def _enqueue(owner, field, queues, sig, info, force=False):
    """Standard signals coalesce; real-time signals queue each instance
    with its value.  ``force``: a POSIX timer's own instance, queued even
    behind a pending standard signal (Linux's preallocated sigqueue).
    True if queued."""
    q = queues.setdefault(sig, [])
    if sig < S.SIGRTMIN and q and not force:
        return False
    if len(q) >= 4096 and not force:
        return False                    # RLIMIT_SIGPENDING-ish
    q.append(info)
    setattr(owner, field, getattr(owner, field) | _bit(sig))
    return True


def _dequeue(owner, field, queues, sig):
    q = queues.get(sig)
    info = q.pop(0) if q else {}
    if not q:
        queues.pop(sig, None)
        setattr(owner, field, getattr(owner, field) & ~_bit(sig))
    return info


def pack_siginfo(sig, info):
    """The 128-byte siginfo_t for ``info`` (rt_sigtimedwait, frames)."""
    buf = bytearray(SIGINFO_SIZE)
    struct.pack_into("<iii", buf, 0, sig, 0, info.get("code", 0))
    if info.get("code") == SI_TIMER:
        # _timer: {int tid; int overrun; sigval_t sigval} whatever the signal
        # (rt_sigqueueinfo may claim SI_TIMER: its raw pid/uid words stay).
        struct.pack_into("<iIQ", buf, 16, info.get("tid", info.get("pid", 0)),
                         info.get("overrun", info.get("uid", 0)) & 0xFFFFFFFF,
                         info.get("value", 0) & (2**64 - 1))
    elif sig in (S.SIGSEGV, S.SIGBUS, S.SIGILL, S.SIGFPE, S.SIGTRAP):
        struct.pack_into("<Q", buf, 16, info.get("addr", 0))
    elif sig == S.SIGCHLD:
        struct.pack_into("<iIi", buf, 16, info.get("pid", 0), info.get("uid", 0),
                         info.get("status", 0))
    else:
        struct.pack_into("<iIQ", buf, 16, info.get("pid", 0), info.get("uid", 0),
                         info.get("value", 0))
    return bytes(buf)


class Signals:
    # -- sending -----------------------------------------------------------------
    def send_signal(self, p, sig, code=S.SI_USER, pid=0, uid=0, status=0, addr=0, task=None,
                    value=0, info=None):
        """Queue ``sig`` for process ``p`` (or one of its threads).  True if
        an instance was queued (or SIGKILL acted).  ``info``: the siginfo
        of a POSIX timer's instance, queued as given (posixtimers)."""
        if not p.alive:
            return False
        act = p.sigactions[sig]
        if p.unkillable and act.handler == S.SIG_DFL:
            # Linux's SIGNAL_UNKILLABLE (sig_task_ignored): init never gets
            # SIGKILL or SIGSTOP, and drops an unhandled signal unless it
            # blocks it (busybox init blocks its signals and takes them with
            # sigtimedwait).  deliver_signals drops the rest; a fault still
            # kills it (force_signal).
            if sig in (S.SIGKILL, S.SIGSTOP) or \
                    not any(x.sigmask & _bit(sig) for x in p.threads if x.state != "Z"):
                return False
        if sig == S.SIGKILL:
            self.exit_process(p, S.SIGKILL)
            return True
        stops = _bit(S.SIGSTOP) | _bit(S.SIGTSTP) | _bit(S.SIGTTIN) | _bit(S.SIGTTOU)
        if sig == S.SIGCONT:
            # SIGCONT resumes even when caught or ignored, and discards
            # pending stop signals.
            p.pending_signals &= ~stops
            for x in p.threads:
                x.pending &= ~stops
            self._continue(p)
        elif _bit(sig) & stops:
            p.pending_signals &= ~_bit(S.SIGCONT)
        if act.handler == S.SIG_IGN or (act.handler == S.SIG_DFL and
                                         S.default_action(sig) in (S.IGNORE, S.CONT)):
            return False
        force = info is not None
        if info is None:
            info = dict(code=code, pid=pid, uid=uid, status=status, addr=addr, value=value)
        if task is not None:
            queued = _enqueue(task, "pending", task.siginfo, sig, info, force)
            targets = [task]
        else:
            queued = _enqueue(p, "pending_signals", p.siginfo, sig, info, force)
            targets = [x for x in p.threads if x.state != "Z"]
        for x in targets:
            if x.state == "S" and x.sigwait_set & _bit(sig):
                self.sched.wake(x)          # rt_sigtimedwait takes blocked signals
                break
        for sfd in list(p.signalfds):
            if sfd.mask & _bit(sig):
                sfd.wake_all()              # readers of a signalfd (also via epoll)
        # Wake a blocked thread that can take it, and get the running one
        # back into the kernel loop to deliver it.
        for x in targets:
            if not x.sigmask & _bit(sig):
                if x.state == "S":
                    self.sched.wake(x)
                break
        if self.cpu.task is not None and self.cpu.task.process is p:
            self.cpu.request_stop()
        return queued

    def unqueue_signal(self, p, info):
        """Drop the pending instance ``info`` (of a POSIX timer deleted or
        set again) from ``p``'s queue or one of its threads'."""
        owners = [(p, "pending_signals")] + [(x, "pending") for x in p.threads]
        for owner, field in owners:
            for sig, q in owner.siginfo.items():
                if any(e is info for e in q):
                    q[:] = [e for e in q if e is not info]
                    if not q:
                        del owner.siginfo[sig]
                        setattr(owner, field, getattr(owner, field) & ~_bit(sig))
                    return

    def _continue(self, p):
        if not p.stopped:
            return
        p.stopped = False
        p.wait_report = ("continued", 0)
        for x in p.threads:
            x.stopped = False
            if x.state == "T":
                self.sched.add(x)
        self._report_to_parent(p, CLD_CONTINUED, S.SIGCONT)

    def _stop(self, p, sig):
        """Default action of SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU: every thread
        parks (blocked ones when they wake); the parent hears of it."""
        p.stopped = True
        p.wait_report = ("stopped", sig)
        for x in p.threads:
            x.stopped = True
            if x is self.cpu.task:
                self.cpu.request_stop()
        self._report_to_parent(p, CLD_STOPPED, sig)

    def _report_to_parent(self, p, code, sig):
        parent = p.parent
        if parent is None or not parent.alive:
            return
        for w in list(parent.wait_queue):
            self.sched.wake(w)
        parent.wait_queue.clear()
        if not parent.sigactions[S.SIGCHLD].flags & SA_NOCLDSTOP:
            self.send_signal(parent, S.SIGCHLD, code=code, pid=p.pid, status=sig)

    def charge_itimers(self, p, spent_ns):
        """ITIMER_VIRTUAL/PROF count down with the process's CPU time, and
        POSIX timers on its CPU clocks expire."""
        from akuma.kernel.syscalls.timers import ITIMER_VIRTUAL, ITIMER_PROF
        from akuma.kernel.posixtimers import POSIX_CPU
        armed = p.itimers.get(POSIX_CPU)
        if armed:
            for timer in list(armed):
                timer.charge()
        for which, sig in ((ITIMER_VIRTUAL, S.SIGVTALRM), (ITIMER_PROF, S.SIGPROF)):
            entry = p.itimers.get(which)
            if entry is None:
                continue
            interval, left = entry
            left -= spent_ns
            if left <= 0:
                self.send_signal(p, sig, code=S.SI_KERNEL)
                if interval:
                    p.itimers[which] = (interval, interval)
                else:
                    del p.itimers[which]
            else:
                p.itimers[which] = (interval, left)

    def dequeue_signal(self, t, sig):
        """Take one instance of ``sig`` (thread queue first); its siginfo."""
        if t.pending & _bit(sig):
            info = _dequeue(t, "pending", t.siginfo, sig)
        else:
            info = _dequeue(t.process, "pending_signals", t.process.siginfo, sig)
        timer = info.get("timer")
        if timer is not None:
            timer.dequeued(info)        # a periodic POSIX timer rearms (posixtimer_rearm)
        return info

    def deliverable(self, t):
        return (t.pending | t.process.pending_signals) & ~t.sigmask

    # -- delivery --------------------------------------------------------------------
    def deliver_signals(self, t):
        """Act on the pending, unblocked signals of the loaded task ``t``:
        default actions, or a frame for the first handled one."""
        while True:
            ready = self.deliverable(t)
            if not ready or not t.process.alive:
                return
            sig = (ready & -ready).bit_length()
            p = t.process
            info = self.dequeue_signal(t, sig)
            act = p.sigactions[sig]
            if act.handler == S.SIG_IGN:
                continue
            if act.handler == S.SIG_DFL:
                action = S.default_action(sig)
                if action in (S.IGNORE, S.CONT) or p.unkillable:
                    continue                # init: an unhandled signal is dropped
                if action == S.STOP:
                    self._stop(p, sig)
                    return
                self.exit_process(p, sig | (0x80 if action == S.CORE else 0))
                return
            self._setup_frame(t, sig, act, info)
            return

    def _interrupted_syscall(self, t, act):
        """A handled signal arrives while ``t`` sleeps in a syscall (PC is on
        its SVC): restart it after the handler (SA_RESTART and restartable)
        or make it return EINTR."""
        name = t.blocked_nr
        t.blocked_nr = None
        t.sleep_deadline = None
        t.polling, t.poll_deadline = False, None
        t.sigwait_set, t.sigwait_deadline = 0, None
        self.fifos.cancel(t)        # a FIFO open that restarts waits afresh
        if name is None:
            return
        partial, t.partial_write = t.partial_write, None
        if partial is not None:
            # A write that took some bytes returns their count (Linux).
            self.cpu.set_x(0, partial[1])
            self.cpu.pc = self.cpu.pc + 4
            return
        if act.flags & SA_RESTART and name in _RESTARTABLE:
            return                                   # PC stays on the SVC
        self._futex_unqueue(t)
        self.cpu.set_x(0, (-EINTR) & (2**64 - 1))
        self.cpu.pc = self.cpu.pc + 4

    def _setup_frame(self, t, sig, act, info):
        cpu = self.cpu
        self._interrupted_syscall(t, act)
        x = cpu.xregs()
        sp, pc, nzcv = cpu.sp, cpu.pc, cpu.nzcv
        vregs, fpsr, fpcr = cpu.simd_state()
        ss_sp, ss_flags, ss_size = t.altstack
        on_alt = ss_size and ss_sp <= sp < ss_sp + ss_size
        if act.flags & SA_ONSTACK and not ss_flags & SS_DISABLE and not on_alt:
            top = ss_sp + ss_size
        else:
            top = sp
        record = (top - 16) & ~15                   # frame record {fp, lr}
        frame = (record - FRAME_SIZE) & ~15
        buf = bytearray(FRAME_SIZE)
        buf[:SIGINFO_SIZE] = pack_siginfo(sig, info)
        struct.pack_into("<QiiQ", buf, UC_OFF + 16, ss_sp,
                         (SS_ONSTACK if on_alt else 0) | (ss_flags & SS_DISABLE), 0, ss_size)
        old_mask = t.sigmask if t.saved_sigmask is None else t.saved_sigmask
        t.saved_sigmask = None
        struct.pack_into("<Q", buf, UC_SIGMASK, old_mask)
        struct.pack_into("<Q", buf, MCTX_FAULT, info.get("addr", 0))
        struct.pack_into("<31Q", buf, MCTX_REGS, *x)
        struct.pack_into("<QQQ", buf, MCTX_SP, sp, pc, nzcv)
        struct.pack_into("<IIII", buf, RESERVED, FPSIMD_MAGIC, FPSIMD_SIZE, fpsr, fpcr)
        buf[RESERVED + 16:RESERVED + 16 + 512] = vregs
        # The terminator {0, 0} follows (already zero).
        try:
            t.process.aspace.write(frame, bytes(buf))
            t.process.aspace.write(record, struct.pack("<QQ", x[29], x[30]))
        except EFault:
            # No room for the frame: Linux kills with SIGSEGV.
            self.log(f"pid {t.process.pid}: cannot write a signal frame at {frame:#x}; "
                     "killed by SIGSEGV")
            self.exit_process(t.process, S.SIGSEGV | 0x80)
            return
        restorer = act.restorer if act.flags & SA_RESTORER else t.process.sigreturn_tramp
        cpu.set_x(0, sig)
        cpu.set_x(1, frame if act.flags & SA_SIGINFO else 0)
        cpu.set_x(2, frame + UC_OFF if act.flags & SA_SIGINFO else 0)
        cpu.set_x(29, record)
        cpu.set_x(30, restorer)
        cpu.sp = frame
        cpu.pc = act.handler
        t.sigmask = (old_mask | act.mask | (0 if act.flags & SA_NODEFER else _bit(sig))) \
            & ~UNBLOCKABLE
        if act.flags & SA_RESETHAND:
            act.handler, act.flags = S.SIG_DFL, act.flags & ~SA_SIGINFO

    def sigreturn(self, t):
        """rt_sigreturn: restore everything the frame at SP saved.  Returns
        the restored x0 (the SVC hook writes it back)."""
        cpu = self.cpu
        frame = cpu.sp
        try:
            buf = t.process.aspace.read(frame, FRAME_SIZE)
        except EFault:
            self.exit_process(t.process, S.SIGSEGV | 0x80)
            return 0
        x = list(struct.unpack_from("<31Q", buf, MCTX_REGS))
        sp, pc, pstate = struct.unpack_from("<QQQ", buf, MCTX_SP)
        (mask,) = struct.unpack_from("<Q", buf, UC_SIGMASK)
        magic, size, fpsr, fpcr = struct.unpack_from("<IIII", buf, RESERVED)
        if pc & 3:
            self.exit_process(t.process, S.SIGSEGV | 0x80)
            return 0
        cpu.set_xregs(x)
        cpu.sp = sp
        cpu.pc = pc
        cpu.nzcv = pstate & NZCV_MASK
        if magic == FPSIMD_MAGIC and size == FPSIMD_SIZE:
            cpu.set_simd_state(bytes(buf[RESERVED + 16:RESERVED + 528]), fpsr, fpcr)
        t.sigmask = mask & ~UNBLOCKABLE
        cpu.request_stop()          # PC changed: restart there (and deliver more)
        return x[0]

    def force_signal(self, t, sig, code, addr, pc, what=""):
        """A synchronous fault: delivered to a handler if one is installed
        and the signal not blocked; otherwise the process dies."""
        p = t.process
        act = p.sigactions[sig]
        if act.handler not in (S.SIG_DFL, S.SIG_IGN) and not t.sigmask & _bit(sig):
            t.pending |= _bit(sig)
            _enqueue(t, "pending", t.siginfo, sig, dict(code=code, addr=addr))
            return
        self.log(f"pid {p.pid} ({p.comm.decode(errors='replace')}): {S.signame(sig)} at "
                 f"pc {pc:#x}" + (f": {what}" if what else f", address {addr:#x}"))
        self.exit_process(p, sig | (0x80 if S.default_action(sig) == S.CORE else 0))


__all__ = ["Signals", "pack_siginfo"]
