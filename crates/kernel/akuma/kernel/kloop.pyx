# cython: language_level=3
"""The kernel loop's hot path in C: pick a runnable task, load it, deliver
its signals, run its slice, charge the time and act on why the CPU stopped.

A pipe ping-pong switch spent ~2.5 µs here as Python (attribute look-ups,
method calls, int boxing).  The rare branches (faults, exceptions, signal
delivery, kernel threads, idling) still call the Kernel's Python methods;
only the per-switch bookkeeping is C."""
from libc.stdint cimport uint64_t

from akuma.arch.cpu cimport Cpu, CpuContext, EXIT_TICK, EXIT_STOP, EXIT_EXCEPTION, EXIT_FAULT, FAST_BLOCK
from akuma.arch.uc cimport uc_context_save, uc_context_restore, UC_ARM64_REG_X8, UC_ERR_OK
from akuma.sched.runq cimport RunQueue
from akuma.kernel.taskcore cimport TaskCore, ProcessCore

from akuma.abi import signals as S
from akuma.kernel.syscalls.numbers import NAMES

cdef str RUNNABLE = "R"     # akuma.sched's state strings
cdef str BLOCKED = "S"
cdef str STOPPED = "T"


cdef class LoopState:
    """What the loop keeps between slices (Kernel.loop)."""
    cdef public object loaded           # the task whose registers are in the CPU
    cdef public bint need_sync          # the MMU must sync before the CPU runs again
    cdef public unsigned long long switches     # tasks loaded (/proc/stat ctxt)
    cdef public unsigned long long user_ns      # CPU time of every thread since boot
    cdef public unsigned long long system_ns


cdef inline object deliverable(TaskCore t):
    """Signals ``t`` could take now (Signals.deliverable)."""
    return (t.pending | t.process.pending_signals) & ~t.sigmask


cpdef unload(LoopState ls):
    """Save the loaded task's registers; no task is loaded afterwards."""
    cdef CpuContext ctx
    cdef TaskCore loaded = ls.loaded
    if loaded is not None:
        ctx = loaded.context
        if uc_context_save(ctx.cpu.uc, ctx.ctx) != UC_ERR_OK:
            raise RuntimeError("uc_context_save failed")
        ls.loaded = None


cdef switch_to(LoopState ls, Cpu cpu, mmu, TaskCore t):
    cdef CpuContext ctx
    if ls.loaded is t:
        return
    unload(ls)
    ctx = t.context
    if uc_context_restore(cpu.uc, ctx.ctx) != UC_ERR_OK:
        raise RuntimeError("uc_context_restore failed")
    ls.loaded = t
    mmu.switch(t.process.aspace.pt)
    cpu.task = t
    ls.switches += 1


cdef run_slice(k, LoopState ls, Cpu cpu, mmu, RunQueue rq, TaskCore t,
               unsigned long grow_fills):
    kthread = t.kthread
    if kthread is not None:
        # A kernel thread (the kernel shell): its body is Python, stepped
        # here between guest slices; it parks itself to wait.
        kthread.step()
        if t.state == RUNNABLE:
            rq.append(t)
        return
    switch_to(ls, cpu, mmu, t)
    cdef uint64_t svc_pc = t.svc_pc
    t.svc_pc = 0
    if deliverable(t):
        svc_pc = 0                      # a handler frame may move PC: no resume here
        k.deliver_signals(t)
        if t.stopped and t.state == RUNNABLE:
            t.state = STOPPED           # parked until SIGCONT
        if t.state != RUNNABLE:
            return
    # Past delivery, a task that slept re-executes its SVC: the call it
    # slept in no longer counts as interrupted (a later signal must not
    # turn some other instruction into an EINTR return).
    if t.blocked_nr is not None:
        t.blocked_nr = None
    if ls.need_sync:
        ls.need_sync = False
        mmu.sync()
    cdef uint64_t spent = 0, nr
    cdef int why
    cdef bint ran = True
    if svc_pc and cpu.resume_syscall(svc_pc) == FAST_BLOCK:
        why = EXIT_STOP                 # asleep again, without running
        ran = False
    else:
        why = cpu.run()
        spent = cpu.slice_spent
    cdef uint64_t sys_ns = cpu.sys_ns
    cdef uint64_t user_ns = spent - sys_ns if spent > sys_ns else 0
    cpu.sys_ns = 0
    t.stime_ns += sys_ns
    t.utime_ns += user_ns
    ls.system_ns += sys_ns
    ls.user_ns += user_ns
    cdef ProcessCore p = t.process
    if p.itimers:
        k.charge_itimers(p, spent)
    if why != EXIT_FAULT and t.unexplained is not None:
        t.unexplained = None
    if why == EXIT_TICK:
        mmu.tick(grow_fills)          # grow unicorn's TLB only when too small
        k.sched.poll(0)                 # host I/O and timers, without waiting
    elif why == EXIT_STOP:
        if t.state == BLOCKED:
            # Remember the call it sleeps in (EINTR vs SA_RESTART), and
            # never sleep on a signal that can be delivered now.
            nr = cpu.reg(UC_ARM64_REG_X8)
            t.blocked_nr = NAMES.get(nr)
            if cpu.has_fast(nr):        # it may complete without entering the guest
                t.svc_pc = cpu.blocked_pc if ran else svc_pc
            if deliverable(t):
                k.sched.wake(t)
    elif why == EXIT_EXCEPTION:
        k._exception(t, cpu.exception)
    else:
        k._fault(t)
    if t.state == RUNNABLE:
        rq.append(t)


def run_loop(k, until, unsigned long grow_fills):
    """Run threads until ``until`` (a process) has exited, until no process
    is left, or until the machine shuts down; the result for Kernel.run."""
    cdef Cpu cpu = k.cpu
    cdef LoopState ls = k.loop
    cdef ProcessCore target = until
    mmu = k.mmu
    sched = k.sched
    cdef RunQueue rq = sched.runq
    host_signals = k._host_signals      # appended to by the host signal handler
    while True:
        if host_signals:
            k._deliver_host_signals()
        if k.shutdown is not None:
            return 0
        if target is not None and target.exit_status is not None:
            return target.exit_status
        t = rq.pick()
        if t is None:
            # Runnable tasks belong to live processes, so "none left" can
            # only be true when nothing is runnable.
            if until is None and not any(p.alive for p in k.processes.values()):
                return 0
            if not sched.idle_possible and not host_signals:
                k.log("every thread is blocked forever; stopping")
                for p in list(k.processes.values()):
                    if p.alive:
                        k.exit_process(p, S.SIGKILL)
                continue
            sched.poll(None)
            continue
        run_slice(k, ls, cpu, mmu, rq, t, grow_fills)
