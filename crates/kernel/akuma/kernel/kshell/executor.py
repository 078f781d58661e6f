"""Running parsed commands: and/or chains, pipelines connected by kernel
pipes, one process group per job, guest programs found on $PATH and started
with Kernel.spawn, built-ins in the shell itself or (inside a pipeline or
in the background) in a kernel-thread subshell.  Every function here that
may wait is a generator."""
import os

from akuma.kernel.kernel import ExecError
from akuma.kernel.pipe import Pipe, PipeEnd
from akuma.kernel.lifecycle import WUNTRACED

from akuma.kernel.kshell import builtins
from akuma.kernel.kshell.expand import expand_word, expand_single, ExpansionError
from akuma.kernel.kshell.kthread import spawn_kthread, wait_child
from akuma.kernel.kshell.redirect import apply_redirs, close_unused, RedirectError
from akuma.kernel.kshell.cmdio import Io


def run_andor(sh, node):
    status = yield from run_pipeline(sh, node.first)
    for op, pl in node.rest:
        if sh.exit_code is not None:
            break
        if (op == "&&") == (status == 0):
            status = yield from run_pipeline(sh, pl)
    return status


def run_background(sh, node):
    """`cmd &`: a job that is not waited for.  A single pipeline runs
    directly; a chain (`a && b &`) runs in a kernel-thread subshell."""
    if not node.rest:
        job = yield from start_pipeline(sh, node.first, background=True)
    else:
        job = _start_subshell_job(sh, node)
    if job is not None and job.pids:
        sh.last_bg = job.pids[-1]
        yield from sh.err_text(f"[{job.number}] {job.pids[-1]}\n")
    sh.last_status = 0


def _start_subshell_job(sh, node):
    def body(proc, task):
        sub = sh.subshell(proc, task)
        return (yield from run_andor(sub, node))
    files = {fd: f for fd, f in sh.proc.fds.items() if fd < 3}
    proc = spawn_kthread(sh.kernel, "kshell", body, parent=sh.proc, files=files,
                         cwd=sh.proc.cwd, argv=[b"kshell", b"-c", node.text.encode()])
    proc.pgid = proc.pid
    return sh.jobs.add(proc.pid, node.text, [proc.pid], background=True)


def run_pipeline(sh, pl):
    """Run a foreground pipeline; its exit status (`!` applied)."""
    cmds = pl.commands
    if len(cmds) == 1 and _runs_in_shell(sh, cmds[0]):
        status = yield from _run_in_shell(sh, cmds[0])
    else:
        job = yield from start_pipeline(sh, pl, background=False)
        status = (yield from wait_job(sh, job)) if job is not None else sh.last_status
    if pl.negate:
        status = 0 if status else 1
    sh.last_status = status
    return status


def _runs_in_shell(sh, cmd):
    """Built-ins (and bare assignments) of a lone foreground command change
    the shell itself: no process."""
    if not cmd.words:
        return True
    name = cmd.words[0].literal() if not cmd.words[0].quoted else None
    return name in builtins.TABLE and name != "env"


def _run_in_shell(sh, cmd):
    opened = []
    try:
        if not cmd.words:
            for name, value in cmd.assigns:
                sh.set_var(name, expand_single(value, sh.lookup))
            files = apply_redirs(sh, cmd.redirs, sh.std_files(), opened)
            return 0
        argv = _expand_argv(sh, cmd)
        files = apply_redirs(sh, cmd.redirs, sh.std_files(), opened)
        io = Io(sh.task, files)
        return (yield from builtins.run(sh, argv, io))
    except (ExpansionError, RedirectError) as e:
        yield from sh.error(str(e))
        return 1
    finally:
        close_unused(opened)


def _expand_argv(sh, cmd):
    argv = []
    for w in cmd.words:
        argv += expand_word(w, sh.lookup, sh.glob)
    return argv


def start_pipeline(sh, pl, background):
    """Start every command of ``pl`` in one new process group; the Job, or
    None when nothing could start (the status is in sh.last_status)."""
    cmds = pl.commands
    opened = []
    pids = []
    pgid = None
    last_status = None
    prev_read = None
    for k, cmd in enumerate(cmds):
        files = sh.std_files()
        if prev_read is not None:
            files[0] = prev_read
        if k < len(cmds) - 1:
            pipe = Pipe(sh.kernel.sched)
            prev_read, write_end = PipeEnd(pipe, False), PipeEnd(pipe, True)
            opened += [prev_read, write_end]
            files[1] = write_end
        try:
            argv = _expand_argv(sh, cmd)
            env = sh.environment([(n, expand_single(v, sh.lookup)) for n, v in cmd.assigns])
            files = apply_redirs(sh, cmd.redirs, files, opened)
            proc = _start_command(sh, argv, env, files, pgid)
        except (ExpansionError, RedirectError, _StartError) as e:
            yield from sh.error(str(e))
            last_status = getattr(e, "status", 1)
            proc = None
        if proc is not None:
            pgid = pgid or proc.pid
            proc.pgid = pgid
            pids.append(proc.pid)
            last_status = None
    close_unused(opened)
    if not pids:
        sh.last_status = last_status if last_status is not None else 0
        return None
    job = sh.jobs.add(pgid, pl.text, pids, background)
    job.last_status = last_status        # the last command could not start
    sh.foreground = None if background else job
    return job


class _StartError(Exception):
    def __init__(self, msg, status):
        super().__init__(msg)
        self.status = status


def _start_command(sh, argv, env, files, pgid):
    """A process for one command of a pipeline: None for an empty
    command; raises _StartError (not found, not executable)."""
    if not argv:
        return None
    argv, env = _unwrap_env(sh, argv, env)
    if not argv:
        return _start_builtin(sh, ["env"], env, files)
    if argv[0] in builtins.TABLE:
        return _start_builtin(sh, argv, env, files)
    path = sh.find_program(argv[0])
    if path is None:
        raise _StartError(f"{argv[0]}: command not found", 127)
    k = sh.kernel
    try:
        proc = k.spawn(os.fsencode(path), [os.fsencode(a) for a in argv],
                       [os.fsencode(e) for e in env], cwd=sh.proc.cwd, parent=sh.proc)
    except ExecError as e:
        raise _StartError(str(e), e.status) from None
    proc.fs = sh.proc.fs.copy()
    proc.sid = sh.proc.sid
    proc.creds = sh.proc.creds.__class__(**vars(sh.proc.creds))
    sh.proc.children.append(proc)
    for fd, f in sorted(files.items()):
        proc.fds.install_at(fd, f)
    return proc


def _unwrap_env(sh, argv, env):
    """`env [-i] [NAME=VALUE]... CMD ARGS`: run CMD with that environment.
    Returns (argv, env); an empty argv means "print the environment"."""
    if argv[0] != "env":
        return argv, env
    rest = argv[1:]
    if rest[:1] == ["-i"]:
        env, rest = [], rest[1:]
    while rest and "=" in rest[0] and not rest[0].startswith("="):
        name = rest[0].split("=", 1)[0]
        env = [e for e in env if e.split("=", 1)[0] != name] + [rest[0]]
        rest = rest[1:]
    return rest, env


def _start_builtin(sh, argv, env, files):
    """A built-in inside a pipeline or the background: a kernel-thread
    subshell, so `cd` there changes nothing in the shell (as in sh)."""
    def body(proc, task):
        sub = sh.subshell(proc, task, env)
        io = Io(task, {fd: f for fd, f in proc.fds.items()})
        return (yield from builtins.run(sub, argv, io))
    return spawn_kthread(sh.kernel, argv[0], body, parent=sh.proc, files=files,
                         cwd=sh.proc.cwd, argv=[a.encode() for a in argv],
                         envp=[e.encode() for e in env])


def wait_job(sh, job):
    """Wait until every process of ``job`` is dead or the job stops; its
    status.  Other children reported meanwhile update their jobs."""
    sh.foreground = job
    sh.terminal_to(job.pgid)
    try:
        while not job.done and not job.stopped:
            got = yield from wait_child(sh.kernel, sh.task, -1, WUNTRACED)
            if got is None:              # no children left: nothing to wait for
                for pid in job.pids:
                    job.statuses.setdefault(pid, 0)
                break
            sh.jobs.record(*got)
    finally:
        sh.foreground = None
        sh.terminal_to(sh.proc.pgid)
    if job.stopped and not job.done:
        job.background = True
        yield from sh.err_text(f"\n[{job.number}]+  Stopped                 {job.text}\n")
        return job.exit_code() if job.statuses.get(job.pids[-1]) else 148
    sh.jobs.remove(job)
    code = job.exit_code()
    if code == 130 and sh.job_control:
        yield from sh.err_text("\n")        # after ^C, the prompt starts a fresh line
    return code


__all__ = ["run_andor", "run_background", "run_pipeline", "start_pipeline", "wait_job"]
