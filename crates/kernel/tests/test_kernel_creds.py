"""set*id rules: root may set anything; others only among their ids."""
from types import SimpleNamespace

from akuma.kernel.task import Creds
from akuma.kernel.syscalls import creds as C

KEEP = 0xFFFFFFFF
EPERM = 1


def _task(**ids):
    return SimpleNamespace(process=SimpleNamespace(creds=Creds(**ids)))


def test_root_setresuid_sets_all_three():
    t = _task()
    assert C.sys_setresuid(t, 1, 2, 3) == 0
    c = t.process.creds
    assert (c.uid, c.euid, c.suid) == (1, 2, 3)


def test_unprivileged_setresuid_only_among_own_ids():
    t = _task(uid=1000, euid=1000, suid=2000)
    assert C.sys_setresuid(t, KEEP, 2000, KEEP) == 0
    assert t.process.creds.euid == 2000
    assert C.sys_setresuid(t, 0, KEEP, KEEP) == -EPERM
    assert t.process.creds.uid == 1000


def test_setreuid_saved_id_follows_the_effective_one():
    t = _task(uid=1000, euid=1000, suid=1000)
    t.process.creds.suid = 3000
    assert C.sys_setreuid(t, KEEP, 3000) == 0      # euid may take the saved id
    c = t.process.creds
    assert (c.uid, c.euid, c.suid) == (1000, 3000, 3000)   # euid != old ruid: suid follows
    assert C.sys_setreuid(t, 3000, 1000) == 0      # swap real and effective
    assert (c.uid, c.euid, c.suid) == (3000, 1000, 1000)
    assert C.sys_setreuid(t, 0, KEEP) == -EPERM


def test_setregid_and_setresgid_mirror_the_uid_rules():
    t = _task(uid=1000, euid=1000, suid=1000, gid=100, egid=100, sgid=200)
    assert C.sys_setresgid(t, KEEP, 200, KEEP) == 0
    assert t.process.creds.egid == 200
    assert C.sys_setregid(t, 0, KEEP) == -EPERM
    assert C.sys_setresgid(t, KEEP, KEEP, 0) == -EPERM
