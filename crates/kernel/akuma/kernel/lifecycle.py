"""Process and thread life cycle: clone (fork, vfork, threads), execve,
exit and zombies, and wait.  A mixin of Kernel: it uses the kernel's CPU,
scheduler, VFS and process tables."""
import struct

from akuma.abi import KernelError
from akuma.abi import signals as S
from akuma.abi.errors import ECHILD, EINVAL, EAGAIN
from akuma.mm import EFault
from akuma.sched import ZOMBIE
from akuma.kernel.task import Process, Task, SigAction
from akuma.kernel.rlimit import RLIMIT_NPROC
from akuma.kernel.posixtimers import exit_timers

CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT = 0x1000, 0x2000, 0x4000, 0x8000
CLONE_THREAD, CLONE_NEWNS, CLONE_SYSVSEM, CLONE_SETTLS = 0x10000, 0x20000, 0x40000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_DETACHED = 0x100000, 0x200000, 0x400000
CLONE_UNTRACED, CLONE_CHILD_SETTID = 0x800000, 0x1000000
CSIGNAL = 0xFF
MAX_PROCESSES = 4096
FUTEX_WAITERS, FUTEX_OWNER_DIED, FUTEX_TID_MASK = 0x80000000, 0x40000000, 0x3FFFFFFF
ROBUST_LIST_LIMIT = 2048

WNOHANG, WUNTRACED, WCONTINUED, WEXITED, WNOWAIT = 1, 2, 8, 4, 0x1000000
WALL, WCLONE = 0x40000000, 0x80000000   # __WALL, __WCLONE


class Lifecycle:
    # -- clone ----------------------------------------------------------------------
    def clone(self, t, flags, stack, ptid, tls, ctid):
        """The clone family for the running task ``t`` (its registers are in
        the CPU).  Returns the new thread's tid."""
        if flags & CLONE_THREAD and not flags & CLONE_SIGHAND or \
                flags & CLONE_SIGHAND and not flags & CLONE_VM:
            raise KernelError(EINVAL)
        parent = t.process
        if not flags & CLONE_THREAD:
            alive = [p for p in self.processes.values() if p.alive]
            if len(alive) >= MAX_PROCESSES:
                raise KernelError(EAGAIN)           # a fork bomb stops here
            uid = parent.creds.uid
            if uid != 0 and sum(p.creds.uid == uid for p in alive) >= \
                    parent.rlimits[RLIMIT_NPROC][0]:
                raise KernelError(EAGAIN)
        tid = self._alloc_pid()
        if flags & CLONE_THREAD:
            proc = parent
        else:
            aspace = parent.aspace if flags & CLONE_VM else parent.aspace.fork()
            proc = Process(tid, aspace, parent.parent if flags & CLONE_PARENT else parent)
            aspace.users = getattr(aspace, "users", 1) + (1 if flags & CLONE_VM else 0)
            proc.fds = parent.fds if flags & CLONE_FILES else parent.fds.copy()
            if flags & CLONE_FILES:
                parent.fds.users = getattr(parent.fds, "users", 1) + 1
            proc.creds = parent.creds.__class__(**vars(parent.creds))
            proc.creds.groups = list(parent.creds.groups)
            proc.fs = parent.fs if flags & CLONE_FS else parent.fs.copy()
            proc.exe, proc.comm = parent.exe, parent.comm
            # The forked copy has the parent's [sigpage]: glibc handlers
            # (no SA_RESTORER) return through it.
            proc.sigreturn_tramp = parent.sigreturn_tramp
            proc.argv, proc.envp = parent.argv, parent.envp
            proc.pgid, proc.sid = parent.pgid, parent.sid
            proc.rlimits = [list(r) for r in parent.rlimits]
            proc.nice = parent.nice
            from akuma.kernel.syscalls.sched_misc import inherit
            inherit(parent, proc)
            proc.sigactions = parent.sigactions if flags & CLONE_SIGHAND else \
                [SigAction(**vars(a)) for a in parent.sigactions]
            proc.exit_signal = flags & CSIGNAL
            proc.parent.children.append(proc)
            self.processes[tid] = proc
        child = Task(tid, proc, self.cpu.new_context())
        child.kernel = self
        child.sigmask = t.sigmask
        # The child resumes after the SVC with x0 = 0, on its own stack if given.
        child.context.save()
        child.context.set_x(0, 0)
        if stack:
            child.context.set_reg(self._sp_reg, stack)
        if flags & CLONE_SETTLS:
            child.context.set_reg(self._tpidr_reg, tls)
        if flags & CLONE_PARENT_SETTID:
            self._put_u32(parent.aspace, ptid, tid)
        if flags & CLONE_CHILD_SETTID:
            self._put_u32(proc.aspace, ctid, tid)
        if flags & CLONE_CHILD_CLEARTID:
            child.clear_child_tid = ctid
        self.tasks[tid] = child
        self.sched.add(child)
        if flags & CLONE_VFORK:
            proc.vfork_waiter = t
            self.sched.block(t)
            t.blocked_nr = None
            self.cpu.request_stop()
        return tid

    @staticmethod
    def _put_u32(aspace, addr, value):
        try:
            aspace.write(addr, struct.pack("<I", value))
        except EFault:
            pass

    # -- exec --------------------------------------------------------------------------
    def execve(self, t, path, argv, envp):
        """Replace the running task's program.  On failure the old program
        is intact and ExecError says why."""
        p = t.process
        old = p.aspace
        p.aspace = self.new_address_space()
        try:
            self._exec_into(t, path, argv, envp)
        except BaseException:
            p.aspace.release()
            p.aspace = old
            self.mmu.switch(old.pt, flush=False)
            self.tlb_stale()
            raise
        # The point of no return: other threads die, the old memory goes.
        for other in list(p.threads):
            if other is not t:
                self.fifos.cancel(other)
                self.sched.forget(other)
                p.utime_ns += other.utime_ns
                p.stime_ns += other.stime_ns
                p.threads.remove(other)
                self.tasks.pop(other.tid, None)
        self._drop_address_space(old)
        exit_timers(p)                  # POSIX timers do not survive exec (itimers do)
        p.fds.close_on_exec()
        for act in p.sigactions:
            if act.handler not in (S.SIG_DFL, S.SIG_IGN):
                act.handler, act.flags, act.mask = S.SIG_DFL, 0, 0
        t.altstack = (0, 2, 0)
        t.clear_child_tid = 0
        self._release_vfork(p)
        p.execed = True
        # _exec_into loaded fresh registers for t into the CPU and its context.
        self.loop.loaded = t
        self.mmu.switch(p.aspace.pt, flush=False)
        self.tlb_stale()
        self.cpu.request_stop()

    def _drop_address_space(self, aspace):
        users = getattr(aspace, "users", 1) - 1
        aspace.users = users
        if users <= 0:
            aspace.release()
            self.mmu.forget(aspace.pt)      # its TLB slot is free for the next one

    def _release_vfork(self, p):
        if p.vfork_waiter is not None:
            self.sched.wake(p.vfork_waiter)
            p.vfork_waiter = None

    # -- exit ----------------------------------------------------------------------------
    def exit_thread(self, t, status):
        p = t.process
        live = [x for x in p.threads if x.state != ZOMBIE]
        if len(live) <= 1:
            self.exit_process(p, status)
            return
        self._thread_gone(t)
        self.cpu.request_stop()

    def _thread_gone(self, t):
        """Linux's CHILD_CLEARTID: zero the tid word and wake a futex waiter
        (pthread_join depends on it); robust futexes it held are marked
        OWNER_DIED and one waiter woken."""
        self._exit_robust_list(t)
        if t.clear_child_tid and t.process.aspace is not None:
            try:
                t.process.aspace.write(t.clear_child_tid, b"\0\0\0\0")
                self.futex_wake(t.process, t.clear_child_tid, 1, private=False)
            except (EFault, AttributeError):
                pass
        self.fifos.cancel(t)            # a FIFO open it slept in
        self.sched.forget(t)
        self.tasks.pop(t.tid, None)
        if self.loop.loaded is t:
            self.loop.loaded = None

    def _exit_robust_list(self, t):
        head, length = t.robust_list
        aspace = t.process.aspace
        if not head or length != 24 or aspace is None:
            return
        try:
            entry, offset, pending = struct.unpack("<QqQ", aspace.read(head, 24))
            seen = 0
            while entry and entry != head and seen < ROBUST_LIST_LIMIT:
                nxt = struct.unpack("<Q", aspace.read(entry, 8))[0]
                self._robust_release(t, entry + offset)
                entry = nxt
                seen += 1
            if pending:
                self._robust_release(t, pending + offset)
        except EFault:
            pass

    def _robust_release(self, t, uaddr):
        aspace = t.process.aspace
        (word,) = struct.unpack("<I", aspace.read(uaddr, 4))
        if word & FUTEX_TID_MASK != t.tid:
            return
        aspace.write(uaddr, struct.pack("<I", (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED))
        if word & FUTEX_WAITERS:
            for private in (True, False):
                try:
                    self.futex_wake(t.process, uaddr, 1, private=private)
                except KernelError:
                    pass

    def exit_process(self, p, status):
        """``p`` is dead with wait status ``status``: free its memory and
        files now; it stays a zombie until its parent reaps it."""
        if not p.alive:
            return
        p.exit_status = status
        exit_timers(p, exiting=True)
        if p.sid == p.pid:
            from akuma.kernel.tty.jobctl import session_leader_exit
            session_leader_exit(self, p)    # its terminal hangs up on the foreground
        for t in p.threads:
            if t.state != ZOMBIE:
                self._thread_gone(t)
        p.fds.close_all()
        self._release_vfork(p)
        self._drop_address_space(p.aspace)
        init = self.processes.get(1)
        for c in p.children:
            c.parent = init if init is not None and init is not p else None
            if c.parent is not None:
                init.children.append(c)
                if not c.alive:
                    self._notify_parent(c)
        p.children = []
        self._notify_parent(p)
        for cb in getattr(p, "exit_listeners", ()):    # kernel-side owners (SSH sessions)
            cb()
        if self.cpu.task is not None and self.cpu.task.process is p:
            self.cpu.request_stop()
            self.cpu.interrupt()

    def _notify_parent(self, p):
        parent = p.parent
        if parent is None or not parent.alive:
            p.reaped = True
            return
        act = parent.sigactions[S.SIGCHLD]
        if act.handler == S.SIG_IGN or act.flags & 0x2:      # SA_NOCLDWAIT
            self._reap(parent, p)
        for w in list(parent.wait_queue):
            self.sched.wake(w)
        parent.wait_queue.clear()
        if p.exit_signal:
            self.send_signal(parent, p.exit_signal, code=_cld_code(p.exit_status),
                             pid=p.pid, status=_cld_status(p.exit_status))

    def _reap(self, parent, child):
        user, system = child.cpu_times()
        parent.child_utime_ns += user + child.child_utime_ns
        parent.child_stime_ns += system + child.child_stime_ns
        for entry in child.itimers.values():
            if isinstance(entry, tuple) and hasattr(entry[1], "deadline"):
                self.sched.arm(entry[1], None)
        if child in parent.children:
            parent.children.remove(child)
        child.reaped = True
        self.processes.pop(child.pid, None)

    # -- wait -------------------------------------------------------------------------------
    def wait4(self, t, pid, options):
        """(pid, status) of a reaped child, (0, 0) for WNOHANG with none
        ready, or None to block."""
        p = t.process
        if options & ~(WNOHANG | WUNTRACED | WCONTINUED | WALL | WCLONE):
            raise KernelError(EINVAL)
        candidates = [c for c in p.children if _matches(c, pid, p)]
        if not candidates:
            raise KernelError(ECHILD)
        for c in candidates:
            if not c.alive:
                self._reap(p, c)
                return c.pid, c.exit_status
            report = c.wait_report
            if report and (report[0] == "stopped" and options & WUNTRACED or
                           report[0] == "continued" and options & WCONTINUED):
                c.wait_report = None
                return c.pid, (report[1] << 8 | 0x7F) if report[0] == "stopped" else 0xFFFF
        if options & WNOHANG:
            return 0, 0
        p.wait_queue.append(t)
        self.sched.block(t)
        return None


def _matches(c, pid, p):
    if pid > 0:
        return c.pid == pid
    if pid == -1:
        return True
    if pid == 0:
        return c.pgid == p.pgid
    return c.pgid == -pid


CLD_EXITED, CLD_KILLED, CLD_DUMPED = 1, 2, 3


def _cld_code(status):
    if status & 0x7F == 0:
        return CLD_EXITED
    return CLD_DUMPED if status & 0x80 else CLD_KILLED


def _cld_status(status):
    return (status >> 8) & 0xFF if status & 0x7F == 0 else status & 0x7F


__all__ = ["Lifecycle"]
