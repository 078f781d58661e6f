"""Built-ins that act on the shell: cd, pwd, export, unset, env, exit, echo,
kill, help, and job control (jobs, fg, bg, wait).  Each is a generator
``fn(sh, argv, io) -> status``; the system ones live in sysinfo.py."""
import os
import re

from akuma.abi import KernelError
from akuma.abi import signals as S

from akuma.kernel.kshell import sysinfo

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


def run(sh, argv, io):
    """Run built-in ``argv[0]``; its exit status."""
    fn, _ = TABLE[argv[0]]
    try:
        status = yield from fn(sh, argv, io)
    except KernelError as e:
        yield from io.err(f"{argv[0]}: {os.strerror(e.errno)}\n")
        return 1
    return status or 0


def b_cd(sh, argv, io):
    args = argv[1:]
    if len(args) > 1:
        yield from io.err("cd: too many arguments\n")
        return 1
    target = args[0] if args else sh.vars.get("HOME", "/")
    if target == "-":
        target = sh.vars.get("OLDPWD", sh.cwd())
        yield from io.out(target + "\n")
    p = sh.proc
    try:
        new = sh.kernel.vfs.resolve_dir(os.fsencode(target), cwd=p.cwd, root=p.root)
    except KernelError as e:
        yield from io.err(f"cd: {target}: {os.strerror(e.errno)}\n")
        return 1
    old = sh.cwd()
    p.cwd = new
    sh.set_var("OLDPWD", old)
    sh.set_var("PWD", sh.cwd())
    return 0


def b_pwd(sh, argv, io):
    yield from io.out(sh.cwd() + "\n")
    return 0


def b_export(sh, argv, io):
    if len(argv) == 1 or argv[1:] == ["-p"]:
        for name in sorted(sh.exported):
            if name in sh.vars:
                yield from io.out(f"export {name}={_quote(sh.vars[name])}\n")
        return 0
    status = 0
    for arg in argv[1:]:
        name, eq, value = arg.partition("=")
        if not _NAME.match(name):
            yield from io.err(f"export: `{arg}': not a valid identifier\n")
            status = 1
            continue
        if eq:
            sh.set_var(name, value)
        sh.exported.add(name)
    return status


def b_unset(sh, argv, io):
    for name in argv[1:]:
        if name in ("-v", "-f"):
            continue
        sh.vars.pop(name, None)
        sh.exported.discard(name)
    yield from ()
    return 0


def b_env(sh, argv, io):
    """`env` with no command (one with a command runs it, see executor)."""
    for entry in sh.environment():
        yield from io.out(entry + "\n")
    return 0


def b_exit(sh, argv, io):
    code = sh.last_status
    if len(argv) > 1:
        try:
            code = int(argv[1]) & 0xFF
        except ValueError:
            yield from io.err(f"exit: {argv[1]}: numeric argument required\n")
            code = 2
    sh.exit_code = code
    return code


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "a": "\a", "b": "\b", "r": "\r", "v": "\v",
            "f": "\f", "e": "\x1b"}


def b_echo(sh, argv, io):
    args = argv[1:]
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        newline = newline and "n" not in args[0]
        escapes = "e" in args[0] or (escapes and "E" not in args[0])
        args = args[1:]
    text = " ".join(args)
    if escapes:
        if "\\c" in text:
            text, newline = text.split("\\c", 1)[0], False
        text = re.sub(r"\\(0[0-7]{0,3}|.)", lambda m: _unescape(m.group(1)), text)
    ok = yield from io.out(text + ("\n" if newline else ""))
    return 0 if ok else 1


def _unescape(s):
    if s[0] == "0":
        return chr(int(s, 8)) if len(s) > 1 else "\0"
    return _ESCAPES.get(s, "\\" + s)


def b_kill(sh, argv, io):
    args = argv[1:]
    if args[:1] == ["-l"]:
        names = [f"{n:2d}) {S.signame(n)}" for n in range(1, 32)]
        yield from io.out("\n".join(names) + "\n")
        return 0
    sig = S.SIGTERM
    if args and args[0] == "-s" and len(args) > 1:
        sig, args = _signal_number(args[1]), args[2:]
    elif args and args[0].startswith("-") and len(args) > 1:
        sig, args = _signal_number(args[0][1:]), args[1:]
    if sig is None:
        yield from io.err(f"kill: {argv[1]}: invalid signal specification\n")
        return 1
    if not args:
        yield from io.err("kill: usage: kill [-s SIG | -SIG] pid | %job ...\n")
        return 2
    status = 0
    for target in args:
        procs = _kill_targets(sh, target)
        if procs is None:
            yield from io.err(f"kill: {target}: arguments must be process or job IDs\n")
            status = 1
        elif not procs:
            yield from io.err(f"kill: ({target}) - No such process\n")
            status = 1
        for p in procs or ():
            if sig:
                sh.kernel.send_signal(p, sig, pid=sh.proc.pid)
    return status


def _signal_number(text):
    if text.isdigit():
        n = int(text)
        return n if 0 <= n <= S.NSIG else None
    name = text.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    return getattr(S, name, None) if name in S.NAMES.values() else None


def _kill_targets(sh, target):
    """The live processes ``target`` (pid, -pgid, %job) names; None if it
    names nothing valid."""
    if target.startswith("%"):
        job = sh.jobs.get(target)
        if job is None:
            return []
        pgid = job.pgid
    elif target.lstrip("-").isdigit():
        n = int(target)
        if n > 0:
            p = sh.kernel.processes.get(n)
            return [p] if p is not None and p.alive else []
        pgid = -n
    else:
        return None
    return [p for p in sh.kernel.processes.values() if p.alive and p.pgid == pgid]


def b_jobs(sh, argv, io):
    for job in sh.jobs:
        state = job.state
        yield from io.out(f"[{job.number}]  {state:<22s}  {job.text}"
                          f"{' &' if state == 'Running' else ''}\n")
    return 0


def b_fg(sh, argv, io):
    from akuma.kernel.kshell.executor import wait_job
    job = sh.jobs.get(argv[1] if len(argv) > 1 else "%")
    if job is None:
        yield from io.err("fg: no such job\n")
        return 1
    yield from io.out(job.text + "\n")
    _continue(sh, job)
    job.background = False
    return (yield from wait_job(sh, job))


def b_bg(sh, argv, io):
    job = sh.jobs.get(argv[1] if len(argv) > 1 else "%")
    if job is None:
        yield from io.err("bg: no such job\n")
        return 1
    _continue(sh, job)
    job.background = True
    yield from io.out(f"[{job.number}]+ {job.text} &\n")
    return 0


def _continue(sh, job):
    job.stopped = False
    for p in list(sh.kernel.processes.values()):
        if p.alive and p.pgid == job.pgid:
            sh.kernel.send_signal(p, S.SIGCONT, pid=sh.proc.pid)


def b_wait(sh, argv, io):
    from akuma.kernel.kshell.executor import wait_job
    if len(argv) == 1:
        targets = [j for j in sh.jobs if not j.stopped]
    else:
        targets = []
        for spec in argv[1:]:
            job = sh.jobs.get(spec) if spec.startswith("%") else \
                (sh.jobs.by_pid(int(spec)) if spec.isdigit() else None)
            if job is None:
                yield from io.err(f"wait: {spec}: no such job\n")
                return 127
            targets.append(job)
    status = 0
    for job in targets:
        status = yield from wait_job(sh, job)
    return status


def b_help(sh, argv, io):
    lines = ["kshell, the Akuma kernel shell. Built-in commands:"]
    lines += [f"  {name:<8s} {doc}" for name, (_, doc) in sorted(TABLE.items())]
    lines += ["Other commands are programs found on $PATH. Syntax: a | b, a; b, a && b,",
              "a || b, a &, < > >> 2> 2>&1, 'quotes', \"$VAR ${VAR} $?\", * ? [..]."]
    yield from io.out("\n".join(lines) + "\n")
    return 0


def _quote(value):
    return "'" + value.replace("'", "'\\''") + "'"


TABLE = {
    "cd": (b_cd, "change the working directory (cd -: the previous one)"),
    "pwd": (b_pwd, "print the working directory"),
    "export": (b_export, "export NAME[=VALUE]: pass a variable to programs"),
    "unset": (b_unset, "unset NAME: remove a variable"),
    "env": (b_env, "print the environment; env NAME=VALUE CMD runs CMD with it"),
    "exit": (b_exit, "exit [N]: leave the shell"),
    "echo": (b_echo, "echo [-n] [-e] ARGS: print ARGS"),
    "kill": (b_kill, "kill [-SIG] PID|%JOB|-PGID: send a signal (kill -l lists them)"),
    "jobs": (b_jobs, "list background and stopped jobs"),
    "fg": (b_fg, "fg [%N]: continue a job in the foreground"),
    "bg": (b_bg, "bg [%N]: continue a stopped job in the background"),
    "wait": (b_wait, "wait [%N|PID]: wait for background jobs"),
    "help": (b_help, "this list"),
    "ps": (sysinfo.b_ps, "list processes"),
    "free": (sysinfo.b_free, "memory use (-m for MiB)"),
    "df": (sysinfo.b_df, "filesystem space (df [PATH...])"),
    "mount": (sysinfo.b_mount, "list mounts; mount -t tmpfs NAME DIR mounts a memfs"),
    "uname": (sysinfo.b_uname, "uname [-asnrvm]: system information"),
    "uptime": (sysinfo.b_uptime, "time since boot and process count"),
}


__all__ = ["TABLE", "run"]
