"""Kernel threads: processes whose body is a Python generator stepped by
the kernel loop instead of guest code.

They are real processes (a pid, an fd table, a cwd, an empty address
space, a parent and children, /proc entries), so `ps` shows them and the
programs they start have them as parent.  The body never blocks the loop:
to wait it parks its task the way a blocking syscall does (a file's wait
list, a host fd, a child's exit) and yields; the scheduler steps it again
when woken.  It returns its exit status."""
from akuma.abi import KernelError
from akuma.abi import signals as S
from akuma.abi.errors import EAGAIN, EINTR
from akuma.kernel.task import Process, Task

_FATAL = (S.TERM, S.CORE)


class KernelThread:
    """The body of a kernel-thread task; the kernel loop (kloop.pyx) calls
    ``step()`` where it would run guest code."""

    def __init__(self, kernel, task, body, on_signal=None):
        self.kernel = kernel
        self.task = task
        self.body = body
        self.on_signal = on_signal      # sig -> True when the body handled it

    def step(self):
        k, t = self.kernel, self.task
        p = t.process
        if not p.alive:
            return
        if not self._take_signals():
            return
        try:
            next(self.body)
        except StopIteration as done:
            status = done.value if isinstance(done.value, int) else 0
            k.exit_process(p, _wait_status(status))
        except Exception as exc:        # a bug in the body: one log line, never a traceback
            k.log(f"kernel thread {p.pid} ({p.comm.decode(errors='replace')}): "
                  f"internal error {exc!r}")
            k.exit_process(p, 70 << 8)

    def _take_signals(self):
        """Act on pending signals; False if one ended the thread.  Kernel
        threads cannot be stopped; what the body does not handle takes its
        default action (terminate or ignore)."""
        k, t = self.kernel, self.task
        while True:
            ready = k.deliverable(t)
            if not ready:
                return True
            sig = (ready & -ready).bit_length()
            k.dequeue_signal(t, sig)
            if t.process.sigactions[sig].handler == S.SIG_IGN:
                continue
            if self.on_signal is not None and self.on_signal(sig):
                continue
            if S.default_action(sig) in _FATAL:
                k.exit_process(t.process, sig)
                return False


def _wait_status(code):
    """A body's return value -> wait status: 0..255 exit, or -N for a
    death by signal N."""
    if code < 0:
        return -code & 0x7F
    return (code & 0xFF) << 8


def spawn_kthread(kernel, name, body_factory, parent=None, files=None, cwd=b"/",
                  argv=None, envp=None, on_signal=None):
    """Start a kernel thread.  ``body_factory(process, task)`` returns the
    generator; ``files`` maps fd -> open file.  Returns the Process."""
    pid = kernel._alloc_pid()
    proc = Process(pid, kernel.new_address_space(), parent)
    proc.comm = (name.encode() if isinstance(name, str) else name)[:15]
    proc.argv = list(argv or [proc.comm])
    proc.envp = list(envp or [])
    if parent is not None:
        proc.fs = parent.fs.copy()
        proc.pgid, proc.sid = parent.pgid, parent.sid
        proc.creds = parent.creds.__class__(**vars(parent.creds))
        parent.children.append(proc)
    proc.cwd = cwd
    for fd, f in sorted((files or {}).items()):
        proc.fds.install_at(fd, f)
    task = Task(pid, proc, kernel.cpu.new_context())
    task.kernel = kernel
    task.kthread = KernelThread(kernel, task, body_factory(proc, task), on_signal)
    kernel.processes[pid] = proc
    kernel.tasks[pid] = task
    kernel.sched.add(task)
    return proc


# -- waiting, the way blocking syscalls wait -------------------------------------------------

def park_on_file(t, f, write=False):
    """Block ``t`` until ``f`` may be ready (its wait list, or its host
    fd).  The caller yields next and checks again when stepped."""
    sched = t.kernel.sched
    if hasattr(f, "add_waiter"):
        f.add_waiter(t)
        sched.block(t)
    elif getattr(f, "host_fd", None) is not None:
        sched.block(t, fds=[(f.host_fd, 4 if write else 1)])
    # Otherwise the file has no way to wait: yielding retries next round.


def read_some(t, f, n, interrupted=None):
    """Generator: up to ``n`` bytes from ``f``, b"" at end of file or on an
    error that ends input; None when ``interrupted()`` turns true while it
    waits (a signal the body handles)."""
    while True:
        if interrupted is not None and interrupted():
            return None
        poll = getattr(f, "poll_ready", None)
        if poll is None or poll()[0]:
            buf = bytearray(n)
            try:
                # readinto: what every kind of file implements (a terminal's
                # read without a task, a pipe, a host stream, a file).
                got = f.readinto([memoryview(buf)])
                return bytes(buf[:got])
            except KernelError as e:
                if e.errno not in (EAGAIN, EINTR):
                    return b""
        park_on_file(t, f)
        yield


def write_all(t, f, data):
    """Generator: write all of ``data`` to ``f``, waiting while a pipe is
    full.  Raises KernelError (EPIPE, EBADF...)."""
    view = memoryview(data)
    while len(view):
        try:
            n = f.write(view)
        except KernelError as e:
            if e.errno not in (EAGAIN, EINTR):
                raise
            n = 0
        if n:
            view = view[n:]
            continue
        park_on_file(t, f, write=True)
        yield


def wait_child(kernel, t, pid=-1, options=0):
    """Generator: (pid, wait status) of a child (WUNTRACED reports stops),
    (0, 0) with WNOHANG when none is ready; None when there are no
    children (ECHILD)."""
    while True:
        try:
            got = kernel.wait4(t, pid, options)
        except KernelError:
            return None
        if got is not None:
            return got
        yield                           # parked on our wait queue by wait4


__all__ = ["KernelThread", "spawn_kthread", "park_on_file", "read_some", "write_all",
           "wait_child"]
