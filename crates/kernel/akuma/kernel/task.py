"""Processes (thread groups) and threads, with Linux's names: a Task is a
thread; a Process holds what its threads share (memory, files, signal
actions, credentials)."""
from dataclasses import dataclass, field

from akuma.abi.signals import NSIG
from akuma.kernel.fdtable import FdTable
from akuma.kernel.rlimit import default_rlimits
from akuma.kernel.taskcore import ProcessCore, TaskCore


@dataclass
class Creds:
    uid: int = 0
    euid: int = 0
    suid: int = 0
    gid: int = 0
    egid: int = 0
    sgid: int = 0
    groups: list = field(default_factory=list)


@dataclass
class SigAction:
    handler: int = 0        # SIG_DFL
    flags: int = 0
    restorer: int = 0
    mask: int = 0


class FsContext:
    """umask, cwd and root: Linux's fs_struct, shared by CLONE_FS."""
    __slots__ = ("umask", "cwd", "root")

    def __init__(self, umask=0o022, cwd=b"/", root=b"/"):
        self.umask, self.cwd, self.root = umask, cwd, root

    def copy(self):
        return FsContext(self.umask, self.cwd, self.root)


def _fs_field(name):
    return property(lambda self: getattr(self.fs, name),
                    lambda self, value: setattr(self.fs, name, value))


class Process(ProcessCore):
    umask = _fs_field("umask")
    cwd = _fs_field("cwd")
    root = _fs_field("root")

    def __init__(self, pid, aspace, parent=None):
        self.pid = pid
        self.parent = parent
        self.unkillable = False     # the booted system's init (SIGNAL_UNKILLABLE)
        self.pgid = pid
        self.sid = pid
        self.aspace = aspace
        self.fds = FdTable()
        self.creds = Creds()
        self.fs = FsContext()
        self.exe = b""
        self.sigreturn_tramp = 0    # the [sigpage] of the loaded program (set by exec)
        self.comm = b""
        self.argv = []
        self.envp = []
        self.sigactions = [SigAction() for _ in range(NSIG + 1)]
        self.rlimits = default_rlimits()
        self.nice = 0               # -20..19 (getpriority/setpriority); kept over exec
        # sched_setscheduler/sched_setparam (syscalls/sched_misc.py): kept over exec
        self.sched_policy = 0       # SCHED_OTHER
        self.sched_priority = 0     # rt_priority: 1..99 for FIFO/RR, else 0
        self.sched_reset_on_fork = False
        self.ioprio = 0             # ioprio_set; 0: never set (IOPRIO_CLASS_NONE)
        self.caps = None            # (effective, permitted, inheritable) once capset; None: full
        self.mlocked = []           # mlock()ed [start, end) ranges (RLIMIT_MEMLOCK accounting)
        self.threads = []
        self.exit_status = None     # wait status word once dead
        self.pending_signals = 0    # bit mask of process-directed signals
        self.siginfo = {}           # signal -> siginfo fields of the pending one
        self.children = []
        self.wait_queue = []        # tasks blocked in wait4/waitid on our children
        self.exit_signal = 17       # SIGCHLD to the parent on exit (clone's low byte)
        self.vfork_waiter = None    # the parent task blocked until we exec or exit
        self.reaped = False
        self.execed = False
        self.stopped = False
        self.wait_report = None     # ("stopped", sig) or ("continued", 0) for wait
        self.signalfds = set()      # signalfds with readers waiting for our signals
        self.utime_ns = 0           # CPU time of threads removed at exec (live and
        self.stime_ns = 0           # zombie threads keep their own)
        self.child_utime_ns = 0     # of reaped children (getrusage CHILDREN, times)
        self.child_stime_ns = 0
        # which -> (interval_ns, Timer or remaining ns); and while armed,
        # POSIX_CPU -> {PosixTimer: True} of the POSIX timers on our CPU clock
        # (the kernel loop charges CPU time to processes with itimers).
        self.itimers = {}
        self.posix_timers = {}      # timer id -> PosixTimer (timer_create)
        self.next_timer_id = 0      # where the search for a free id starts
        self.start_ns = 0

    def cpu_times(self):
        """(user ns, system ns) of all its threads, dead or alive."""
        return (self.utime_ns + sum(t.utime_ns for t in self.threads),
                self.stime_ns + sum(t.stime_ns for t in self.threads))

    def cpu_ns(self):
        return sum(self.cpu_times())

    @property
    def ppid(self):
        return self.parent.pid if self.parent is not None else 0

    @property
    def alive(self):
        return self.exit_status is None


class Task(TaskCore):
    """A thread: a CPU context, a signal mask, a tid."""

    def __init__(self, tid, process, context):
        self.tid = tid
        self.process = process
        self.context = context
        self.state = None           # akuma.sched states
        self.sigmask = 0
        self.clear_child_tid = 0
        self.robust_list = (0, 0)
        self.wait_fds = []
        self.sleep_deadline = None  # an interrupted nanosleep resumes with it
        self.fault = None           # (signal, si_code, address) to deliver
        self.pending = 0            # thread-directed pending signals (bit mask)
        self.blocked_nr = None      # the syscall a blocked task sleeps in
        self.partial_write = None   # (call key, bytes done) of a blocking write in progress
        self.fifo_wait = None       # (fifo, side, partner counter) while open(2) waits
        self.altstack = (0, 2, 0)   # sigaltstack: sp, flags (SS_DISABLE), size
        self.saved_sigmask = None   # sigsuspend's mask to restore after the handler
        self.polling = False        # inside ppoll (its state survives the restart)
        self.sigwait_set = 0        # signals rt_sigtimedwait waits for
        self.sigwait_deadline = None
        self.poll_deadline = None
        self.futex_state = None
        self.utime_ns = 0           # time spent running guest code
        self.stime_ns = 0           # time spent in its syscall handlers
        self.stopped = False
        self.unexplained = None     # PC of an error exit with no refused access
        self.siginfo = {}
        self.kernel = None
        self.kthread = None         # the body of a kernel thread (kshell), else guest code
        process.threads.append(self)

    def __repr__(self):
        return f"<Task {self.tid} {self.process.comm.decode(errors='replace')}>"
