"""Controlling terminals and job control (drivers/tty/tty_jobctrl.c).

A session's controlling terminal lives in ``kernel.ctty`` (sid -> Tty); the
terminal keeps its session and foreground process group.  A new session
(setsid) has no entry, so it starts without a controlling terminal."""
from akuma.abi import signals as S
from akuma.abi.errors import EIO

SI_KERNEL = 0x80


def sessions(kernel):
    """sid -> the controlling terminal of that session."""
    table = getattr(kernel, "ctty", None)
    if table is None:
        table = kernel.ctty = {}
    return table


def ctty_of(kernel, p):
    """The controlling terminal of process ``p``, or None."""
    if getattr(p, "ctty_dropped", False):
        return None
    tty = sessions(kernel).get(p.sid)
    if tty is None or tty.session != p.sid:
        return None
    return tty


def set_ctty(kernel, p, tty):
    """``p`` (a session leader) takes ``tty`` as its session's terminal."""
    sessions(kernel)[p.sid] = tty
    p.ctty_dropped = False
    tty.session = p.sid
    tty.pgrp = p.pgid


def clear_session(kernel, tty):
    """``tty`` no longer controls any session."""
    if tty.session is not None and sessions(kernel).get(tty.session) is tty:
        del sessions(kernel)[tty.session]
    tty.session = None
    tty.pgrp = None


def signal_pgrp(kernel, pgid, sig):
    if not pgid:
        return
    for p in list(kernel.processes.values()):
        if p.alive and p.pgid == pgid:
            kernel.send_signal(p, sig, code=SI_KERNEL)


def pgrp_exists_in_session(kernel, pgid, sid):
    """True/False whether group ``pgid`` exists and lies in session ``sid``;
    None when there is no such group."""
    found = None
    for p in kernel.processes.values():
        if p.alive and p.pgid == pgid:
            if p.sid == sid:
                return True
            found = False
    return found


def is_orphaned_pgrp(kernel, pgid):
    """No member has a parent in another group of the same session
    (will_become_orphaned_pgrp); such a group cannot be stopped by the
    terminal."""
    for p in kernel.processes.values():
        if not p.alive or p.pgid != pgid:
            continue
        parent = p.parent
        if parent is None or parent.pid == 1 or not parent.alive:
            continue
        if parent.pgid != pgid and parent.sid == p.sid:
            return False
    return True


def _ignored_or_blocked(t, sig):
    act = t.process.sigactions[sig]
    return act.handler == S.SIG_IGN or bool(t.sigmask & (1 << (sig - 1)))


def check_change(t, tty, sig):
    """__tty_check_change: 0 to go on, -EIO, or None after sending ``sig``
    to the caller's (background) group: the caller waits for the signal
    and its syscall restarts (ERESTARTSYS)."""
    k = t.kernel
    p = t.process
    if ctty_of(k, p) is not tty:
        return 0
    if not tty.pgrp or p.pgid == tty.pgrp:
        return 0
    if _ignored_or_blocked(t, sig):
        return -EIO if sig == S.SIGTTIN else 0
    if is_orphaned_pgrp(k, p.pgid):
        return -EIO
    signal_pgrp(k, p.pgid, sig)
    k.sched.block(t)                 # woken at once: the signal is deliverable
    return None


def hangup_session(kernel, tty):
    """The terminal went away (its pty master closed): the session leader
    gets SIGHUP and SIGCONT (tty_signal_session_leader); the session loses
    its terminal."""
    sid = tty.session
    if sid is not None:
        leader = kernel.processes.get(sid)
        if leader is not None and leader.alive:
            kernel.send_signal(leader, S.SIGHUP, code=SI_KERNEL)
            kernel.send_signal(leader, S.SIGCONT, code=SI_KERNEL)
    clear_session(kernel, tty)


def session_leader_exit(kernel, p):
    """disassociate_ctty(1): a dying session leader's terminal hangs up on
    its foreground group (SIGHUP) and is free again."""
    if p.sid != p.pid:
        return
    tty = sessions(kernel).get(p.sid)
    if tty is None or tty.session != p.sid:
        return
    pgrp = tty.pgrp
    clear_session(kernel, tty)
    signal_pgrp(kernel, pgrp, S.SIGHUP)


def claim_next_session(kernel, tty):
    """``tty`` is the controlling terminal of the session the next spawned
    process starts (it leads session and group under its own pid)."""
    sid = kernel._next_pid
    sessions(kernel)[sid] = tty
    tty.session = sid
    tty.pgrp = sid
