"""The kernel shell: a kernel thread that reads command lines from its
stdin and runs them (see executor.py).  Its state — variables, exported
names, jobs, $? — lives here; its cwd, fds and children are its process's."""
import os

from akuma.abi import KernelError
from akuma.abi import signals as S
from akuma.abi.errors import EBADF

from akuma.kernel.kshell import executor
from akuma.kernel.kshell.glob import glob as glob_paths
from akuma.kernel.kshell.jobs import JobTable
from akuma.kernel.kshell.kthread import spawn_kthread, write_all
from akuma.kernel.kshell.lexer import ShellSyntaxError, Incomplete
from akuma.kernel.kshell.lineread import LineReader
from akuma.kernel.kshell.parser import parse
from akuma.kernel.lifecycle import WNOHANG, WUNTRACED

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NAME = "kshell"


class Shell:
    def __init__(self, kernel, proc, task, env=()):
        self.kernel = kernel
        self.proc = proc
        self.task = task
        self.vars = {}
        self.exported = set()
        for entry in env:
            entry = entry.decode("utf-8", "surrogateescape") if isinstance(entry, bytes) \
                else entry
            name, eq, value = entry.partition("=")
            if eq and name:
                self.vars[name] = value
                self.exported.add(name)
        self.vars.setdefault("PATH", DEFAULT_PATH)
        self.exported.add("PATH")
        self.vars["PWD"] = self.cwd()
        self.exported.add("PWD")
        self.last_status = 0
        self.last_bg = None
        self.exit_code = None
        self.jobs = JobTable()
        self.foreground = None
        self.reader = None
        self.job_control = True      # the session's shell: it hands the terminal to jobs

    # -- state -------------------------------------------------------------------------
    def cwd(self):
        return self.proc.cwd.decode("utf-8", "surrogateescape")

    def set_var(self, name, value):
        self.vars[name] = value

    def lookup(self, name):
        if name == "?":
            return str(self.last_status)
        if name == "$":
            return str(self.proc.pid)
        if name == "!":
            return str(self.last_bg) if self.last_bg is not None else ""
        if name == "0":
            return NAME
        if name == "#":
            return "0"
        return self.vars.get(name)

    def environment(self, extra=()):
        """The exported variables as NAME=VALUE strings, ``extra`` pairs
        (prefix assignments) overriding them."""
        env = {n: self.vars[n] for n in self.vars if n in self.exported}
        env.update(extra)
        return [f"{n}={v}" for n, v in env.items()]

    def subshell(self, proc, task, env=None):
        """A copy of this shell's state for a kernel-thread child (a
        built-in in a pipeline, a background chain)."""
        sub = Shell.__new__(Shell)
        sub.__dict__.update(self.__dict__)
        sub.proc, sub.task = proc, task
        sub.vars, sub.exported = dict(self.vars), set(self.exported)
        if env is not None:
            sub.vars = dict(e.split("=", 1) for e in env if "=" in e)
            sub.exported = set(sub.vars)
        sub.jobs = JobTable()
        sub.foreground = None
        sub.exit_code = None
        sub.job_control = False
        return sub

    def fd(self, n):
        """The open file at our fd ``n``, or None."""
        return self.proc.fds.get(n) if n in self.proc.fds else None

    def std_files(self):
        return {fd: f for fd, f in self.proc.fds.items()}

    def terminal_to(self, pgid):
        """tcsetpgrp: give our controlling terminal to group ``pgid``, so
        its reads are allowed and ^C/^Z reach it.  Only a terminal that
        keeps a session and a foreground group (the kernel's ttys) and
        that controls our session; host streams have none."""
        if not self.job_control:
            return
        tty = getattr(self.fd(0), "tty", None)
        if tty is not None and getattr(tty, "session", None) == self.proc.sid and \
                hasattr(tty, "pgrp"):
            tty.pgrp = pgid

    # -- paths ---------------------------------------------------------------------------
    def glob(self, chars, active):
        vfs, p = self.kernel.vfs, self.proc

        def listdir(path):
            from akuma.abi import fcntl as F
            try:
                f = vfs.open(os.fsencode(path), F.O_RDONLY | F.O_DIRECTORY, cwd=p.cwd,
                             root=p.root)
            except KernelError:
                return []
            try:
                return [name.decode("utf-8", "surrogateescape") for _, _, name in f.getdents()]
            except KernelError:
                return []
            finally:
                f.close()

        def is_dir(path):
            try:
                return vfs.stat(os.fsencode(path), cwd=p.cwd, root=p.root).is_dir
            except KernelError:
                return False
        return glob_paths(list(chars), list(active), listdir, is_dir)

    def find_program(self, name):
        """The path to run for command ``name``: as given when it has a
        `/`, else the first executable regular file on $PATH."""
        if "/" in name:
            return name
        vfs, p = self.kernel.vfs, self.proc
        for d in (self.vars.get("PATH") or DEFAULT_PATH).split(":"):
            cand = f"{d or '.'}/{name}"
            try:
                st = vfs.stat(os.fsencode(cand), cwd=p.cwd, root=p.root)
            except KernelError:
                continue
            if st.is_reg and st.mode & 0o111:
                return cand
        return None

    # -- output ----------------------------------------------------------------------------
    def err_text(self, text):
        f = self.fd(2)
        if f is None:
            return
        try:
            yield from write_all(self.task, f, text.encode("utf-8", "surrogateescape"))
        except (KernelError, OSError):
            pass

    def error(self, msg):
        yield from self.err_text(f"{NAME}: {msg}\n")

    # -- running ---------------------------------------------------------------------------
    def run_parsed(self, items):
        for node in items:
            if node.background:
                yield from executor.run_background(self, node)
            else:
                yield from executor.run_andor(self, node)
            if self.exit_code is not None:
                return

    def reap_background(self):
        """Collect children that changed state without waiting; announce
        finished background jobs (before the next prompt, like sh)."""
        while True:
            try:
                got = self.kernel.wait4(self.task, -1, WNOHANG | WUNTRACED)
            except KernelError:
                break
            if got is None or got[0] == 0:
                break
            self.jobs.record(*got)
        for job in list(self.jobs):
            if job.done:
                code = job.exit_code()
                what = "Done" if code == 0 else f"Exit {code}" if code < 128 else \
                    S.signame(code - 128).removeprefix("SIG").title()
                yield from self.err_text(f"[{job.number}]+  {what:<22s}  {job.text}\n")
                self.jobs.remove(job)

    def prompt(self, continuation=False):
        if continuation:
            return "> "
        ps1 = self.vars.get("PS1")
        return ps1 if ps1 is not None else f"akuma:{self.cwd()}# "

    def main(self):
        """The shell's body: read, parse, run, until `exit` or end of input."""
        stdin = self.fd(0)
        if stdin is None:
            yield from self.error(f"no standard input ({os.strerror(EBADF)})")
            return 1
        interactive = bool(getattr(stdin, "isatty", False))
        self.reader = LineReader(self.task, stdin, self.fd(1))
        while self.exit_code is None:
            yield from self.reap_background()
            if interactive:
                yield from self.err_text(self.prompt())
            text = ""
            while True:
                line = yield from self.reader.read_line()
                if line is None:
                    if text.strip():
                        yield from self.error("syntax error: unexpected end of file")
                        self.last_status = 2
                    return self.last_status
                if line == "":                  # ^C dropped the line
                    if interactive:
                        yield from self.err_text("\n")
                    items = []
                    break
                text += line
                try:
                    items = parse(text)
                except Incomplete:
                    if interactive:
                        yield from self.err_text(self.prompt(continuation=True))
                    continue
                except ShellSyntaxError as e:
                    yield from self.error(str(e))
                    self.last_status = 2
                    items = []
                break
            yield from self.run_parsed(items)
        return self.exit_code

    # -- signals -------------------------------------------------------------------------------
    def on_signal(self, sig):
        """Ctrl+C and friends reach the shell (the console's foreground
        group): pass them to the foreground job; at the prompt drop the
        line.  Stop signals are ignored; others end the shell."""
        if sig in (S.SIGINT, S.SIGQUIT):
            job = self.foreground
            if job is not None:
                for p in list(self.kernel.processes.values()):
                    if p.alive and p.pgid == job.pgid and p is not self.proc:
                        self.kernel.send_signal(p, sig)
            elif self.reader is not None:
                self.reader.cancelled = True
            return True
        if sig in (S.SIGTSTP, S.SIGTTIN, S.SIGTTOU, S.SIGSTOP, S.SIGCONT, S.SIGPIPE):
            return True
        if sig == S.SIGHUP:
            for job in self.jobs:
                for p in list(self.kernel.processes.values()):
                    if p.alive and p.pgid == job.pgid:
                        self.kernel.send_signal(p, S.SIGHUP)
        return False


def start_kernel_shell(kernel, files, env=(), cwd=b"/"):
    """Start the kernel shell as a kernel thread with ``files`` as its fds
    0, 1, 2 (host stdio, a console tty, a pty...), ``env`` (NAME=VALUE
    strings or bytes) as its environment and ``cwd`` as its directory.
    Returns its Process; the shell runs when the kernel loop runs
    (``kernel.run(until=proc)``) and exits with `exit N` or at the end of
    its input."""
    env = [e.encode("utf-8", "surrogateescape") if isinstance(e, str) else e for e in env]
    shells = []

    def body(proc, task):
        sh = Shell(kernel, proc, task, env)
        shells.append(sh)
        return sh.main()

    def on_signal(sig):
        return shells[0].on_signal(sig) if shells else False

    return spawn_kthread(kernel, NAME, body, files=dict(enumerate(files)), cwd=cwd,
                         argv=[NAME.encode()], envp=env, on_signal=on_signal)


__all__ = ["Shell", "start_kernel_shell"]
