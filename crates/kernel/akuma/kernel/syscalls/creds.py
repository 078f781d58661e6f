"""Credentials, process groups and sessions: set*id with Linux's rules
(root may set anything; others only among their real, effective and saved
ids, else EPERM), supplementary groups, setsid/setpgid."""
import struct

from akuma.abi.errors import EINVAL, EPERM, ESRCH, EACCES
from akuma.kernel.syscalls.args import s32, read_user
from akuma.kernel.syscalls.registry import syscall

NGROUPS_MAX = 65536
_KEEP = 0xFFFFFFFF          # (uid_t)-1: leave unchanged


def _privileged(c):
    return c.euid == 0


def _allowed(c, v, ids):
    return v == _KEEP or _privileged(c) or v in ids


@syscall("setuid", "int")
def sys_setuid(t, uid, *_):
    c = t.process.creds
    uid &= 0xFFFFFFFF
    if uid == _KEEP:
        return -EINVAL
    if _privileged(c):
        c.uid = c.euid = c.suid = uid
    elif uid in (c.uid, c.suid):
        c.euid = uid
    else:
        return -EPERM
    return 0


@syscall("setgid", "int")
def sys_setgid(t, gid, *_):
    c = t.process.creds
    gid &= 0xFFFFFFFF
    if gid == _KEEP:
        return -EINVAL
    if _privileged(c):
        c.gid = c.egid = c.sgid = gid
    elif gid in (c.gid, c.sgid):
        c.egid = gid
    else:
        return -EPERM
    return 0


def _set_re(c, real, eff, saved, r, e):
    """setreuid/setregid: unprivileged callers may swap among their real,
    effective (and, for the effective id, saved) ids; the saved id follows
    the effective one when the real id is set or the effective id changes
    to something other than the old real id."""
    r, e = r & 0xFFFFFFFF, e & 0xFFFFFFFF
    ids = (getattr(c, real), getattr(c, eff))
    if not _allowed(c, r, ids) or not _allowed(c, e, ids + (getattr(c, saved),)):
        return -EPERM
    old_real = getattr(c, real)
    if r != _KEEP:
        setattr(c, real, r)
    if e != _KEEP:
        setattr(c, eff, e)
    if r != _KEEP or (e != _KEEP and e != old_real):
        setattr(c, saved, getattr(c, eff))
    return 0


def _set_res(c, names, vals):
    """setresuid/setresgid: each of the three may become any of the current
    three (anything for root); -1 leaves one alone."""
    ids = tuple(getattr(c, n) for n in names)
    vals = [v & 0xFFFFFFFF for v in vals]
    if not all(_allowed(c, v, ids) for v in vals):
        return -EPERM
    for name, v in zip(names, vals):
        if v != _KEEP:
            setattr(c, name, v)
    return 0


@syscall("setreuid", "int int")
def sys_setreuid(t, ruid, euid, *_):
    return _set_re(t.process.creds, "uid", "euid", "suid", ruid, euid)


@syscall("setregid", "int int")
def sys_setregid(t, rgid, egid, *_):
    return _set_re(t.process.creds, "gid", "egid", "sgid", rgid, egid)


@syscall("setresuid", "int int int")
def sys_setresuid(t, r, e, s, *_):
    return _set_res(t.process.creds, ("uid", "euid", "suid"), (r, e, s))


@syscall("setresgid", "int int int")
def sys_setresgid(t, r, e, s, *_):
    return _set_res(t.process.creds, ("gid", "egid", "sgid"), (r, e, s))


@syscall("setfsuid", "int")
def sys_setfsuid(t, uid, *_):
    return t.process.creds.euid      # fsuid follows euid here


@syscall("setfsgid", "int")
def sys_setfsgid(t, gid, *_):
    return t.process.creds.egid


@syscall("setgroups", "int hex")
def sys_setgroups(t, size, lst, *_):
    c = t.process.creds
    size = s32(size)
    if not _privileged(c):
        return -EPERM
    if size < 0 or size > NGROUPS_MAX:
        return -EINVAL
    c.groups = list(struct.unpack(f"<{size}I", read_user(t, lst, 4 * size))) if size else []
    return 0


@syscall("setsid")
def sys_setsid(t, *_):
    p = t.process
    k = t.kernel
    # A process group leader (or any process whose pid names a group)
    # cannot start a session.
    if p.pgid == p.pid or any(q.pgid == p.pid for q in k.processes.values() if q.alive):
        return -EPERM
    p.sid = p.pgid = p.pid
    return p.sid


@syscall("setpgid", "int int")
def sys_setpgid(t, pid, pgid, *_):
    k = t.kernel
    me = t.process
    pid, pgid = s32(pid), s32(pgid)
    if pgid < 0:
        return -EINVAL
    target = me if pid in (0, me.pid) else k.processes.get(pid)
    if target is None or not target.alive or (target is not me and target.parent is not me):
        return -ESRCH
    if target.sid == target.pid:
        return -EPERM                 # a session leader cannot move
    if target is not me and target.sid != me.sid:
        return -EPERM
    if target is not me and getattr(target, "execed", False):
        return -EACCES
    pgid = pgid or target.pid
    if pgid != target.pid and not any(q.pgid == pgid and q.sid == me.sid and q.alive
                                      for q in k.processes.values()):
        return -EPERM
    target.pgid = pgid
    return 0

