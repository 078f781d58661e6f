# The fields the kernel loop and the syscall fast path read on every
# switch, as C struct members (task.py's Task and Process extend these).
cdef class ProcessCore:
    cdef public object aspace
    cdef public object fds
    cdef public object pending_signals   # bit mask of process-directed signals
    cdef public object itimers
    cdef public object exit_status       # wait status word once dead


cdef class TaskCore:
    cdef public ProcessCore process
    cdef public object context
    cdef public object state             # akuma.sched's state strings
    cdef public object kthread
    cdef public object pending           # thread-directed pending signals (bit mask)
    cdef public object sigmask
    cdef public object blocked_nr
    cdef public object unexplained
    cdef public object partial_write
    cdef public object wait_fds
    cdef public object stime_ns
    cdef public object utime_ns
    cdef public bint stopped
    cdef public unsigned long long svc_pc     # the SVC it sleeps in (0: none), for Cpu.resume_syscall
