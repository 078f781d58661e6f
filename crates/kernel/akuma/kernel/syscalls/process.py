"""Process identity, exit, limits and scheduling calls."""
import struct

from akuma.abi import KernelError
from akuma.abi.errors import EINVAL, EPERM, ESRCH
from akuma.kernel.rlimit import RLIM_NLIMITS, RLIMIT_NOFILE
from akuma.kernel.syscalls.args import s32, read_user, write_user
from akuma.kernel.syscalls.registry import syscall, ignored


@syscall("exit", "int")
def sys_exit(t, status, *_):
    t.kernel.exit_thread(t, (status & 0xFF) << 8)
    return 0


@syscall("exit_group", "int")
def sys_exit_group(t, status, *_):
    t.kernel.exit_process(t.process, (status & 0xFF) << 8)
    return 0


@syscall("getpid")
def sys_getpid(t, *_):
    return t.process.pid


@syscall("gettid")
def sys_gettid(t, *_):
    return t.tid


@syscall("getppid")
def sys_getppid(t, *_):
    return t.process.ppid


@syscall("getuid")
def sys_getuid(t, *_):
    return t.process.creds.uid


@syscall("geteuid")
def sys_geteuid(t, *_):
    return t.process.creds.euid


@syscall("getgid")
def sys_getgid(t, *_):
    return t.process.creds.gid


@syscall("getegid")
def sys_getegid(t, *_):
    return t.process.creds.egid


@syscall("getresuid", "hex hex hex")
def sys_getresuid(t, ruid, euid, suid, *_):
    c = t.process.creds
    for addr, v in ((ruid, c.uid), (euid, c.euid), (suid, c.suid)):
        write_user(t, addr, struct.pack("<I", v))
    return 0


@syscall("getresgid", "hex hex hex")
def sys_getresgid(t, rgid, egid, sgid, *_):
    c = t.process.creds
    for addr, v in ((rgid, c.gid), (egid, c.egid), (sgid, c.sgid)):
        write_user(t, addr, struct.pack("<I", v))
    return 0


@syscall("getgroups", "int hex")
def sys_getgroups(t, size, lst, *_):
    groups = t.process.creds.groups
    size = s32(size)
    if size == 0:
        return len(groups)
    if size < len(groups):
        return -EINVAL
    if groups:
        write_user(t, lst, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


@syscall("getpgid", "int")
def sys_getpgid(t, pid, *_):
    return _process(t, s32(pid)).pgid


@syscall("getsid", "int")
def sys_getsid(t, pid, *_):
    return _process(t, s32(pid)).sid


def _process(t, pid):
    if pid == 0:
        return t.process
    p = t.kernel.processes.get(pid)
    if p is None or not p.alive:
        raise KernelError(ESRCH)
    return p


@syscall("set_tid_address", "hex")
def sys_set_tid_address(t, tidptr, *_):
    t.clear_child_tid = tidptr
    return t.tid


@syscall("set_robust_list", "hex size")
def sys_set_robust_list(t, head, length, *_):
    if length != 24:
        return -EINVAL
    t.robust_list = (head, length)
    return 0


@syscall("get_robust_list", "int hex hex")
def sys_get_robust_list(t, pid, head_ptr, len_ptr, *_):
    head, length = t.robust_list
    write_user(t, head_ptr, struct.pack("<Q", head))
    write_user(t, len_ptr, struct.pack("<Q", length))
    return 0


def _rlimit_target(t, pid):
    return _process(t, s32(pid))


def _set_rlimit(t, p, resource, soft, hard):
    cur_soft, cur_hard = p.rlimits[resource]
    if soft > hard:
        raise KernelError(EINVAL)
    if hard > cur_hard and p.creds.euid != 0:
        raise KernelError(EPERM)
    if resource == RLIMIT_NOFILE and hard > 1 << 20:
        raise KernelError(EPERM)    # fs.nr_open
    p.rlimits[resource] = [soft, hard]


@syscall("prlimit64", "int int hex hex")
def sys_prlimit64(t, pid, resource, new, old, *_):
    resource = s32(resource)
    if not 0 <= resource < RLIM_NLIMITS:
        return -EINVAL
    p = _rlimit_target(t, pid)
    soft_hard = None
    if new:
        soft_hard = struct.unpack("<QQ", read_user(t, new, 16))
    if old:
        write_user(t, old, struct.pack("<QQ", *p.rlimits[resource]))
    if soft_hard is not None:
        _set_rlimit(t, p, resource, *soft_hard)
    return 0


@syscall("getrlimit", "int hex")
def sys_getrlimit(t, resource, rlim, *_):
    return sys_prlimit64(t, 0, resource, 0, rlim)


@syscall("setrlimit", "int hex")
def sys_setrlimit(t, resource, rlim, *_):
    return sys_prlimit64(t, 0, resource, rlim, 0)


@syscall("sched_yield")
def sys_sched_yield(t, *_):
    t.kernel.cpu.request_stop()     # the task stays runnable; others go first
    return 0


@syscall("sched_getaffinity", "int size hex")
def sys_sched_getaffinity(t, pid, size, mask, *_):
    _process(t, s32(pid))
    if size < 8 or size & 7:
        return -EINVAL
    write_user(t, mask, struct.pack("<Q", 1))   # one CPU
    return 8


@syscall("sched_setaffinity", "int size hex", note="partial: one CPU; accepted")
def sys_sched_setaffinity(t, pid, size, mask, *_):
    _process(t, s32(pid))
    return 0


@syscall("getcpu", "hex hex")
def sys_getcpu(t, cpu, node, *_):
    if cpu:
        write_user(t, cpu, b"\0\0\0\0")
    if node:
        write_user(t, node, b"\0\0\0\0")
    return 0


PR_SET_NAME, PR_GET_NAME = 15, 16


@syscall("prctl", "int hex hex hex hex", note="partial: PR_SET_NAME, PR_GET_NAME")
def sys_prctl(t, option, a2, *_):
    option = s32(option)
    p = t.process
    if option == PR_SET_NAME:
        name = t.process.aspace.read_cstr(a2, 4096) or b""
        p.comm = name[:15]
        return 0
    if option == PR_GET_NAME:
        write_user(t, a2, p.comm[:15] + b"\0")
        return 0
    return -EINVAL


ignored("personality", 0, "hex", note="partial: always PER_LINUX")
