"""uname, sethostname, getrandom, sysinfo."""
import os
import struct
import time as _time

from akuma.abi.errors import EINVAL, EPERM
from akuma.kernel.syscalls.args import read_user, write_user
from akuma.kernel.syscalls.registry import syscall

GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4
UTS = dict(sysname=b"Linux", nodename=b"akuma", release=b"6.6.0-akuma",
           version=b"#1 SMP PREEMPT Akuma", machine=b"aarch64", domainname=b"(none)")


@syscall("uname", "hex")
def sys_uname(t, buf, *_):
    fields = [UTS[k] for k in ("sysname", "nodename", "release", "version", "machine",
                               "domainname")]
    fields[1] = t.kernel.hostname
    write_user(t, buf, b"".join(f[:64].ljust(65, b"\0") for f in fields))
    return 0


@syscall("sethostname", "hex size")
def sys_sethostname(t, name, length, *_):
    if t.process.creds.euid != 0:          # CAP_SYS_ADMIN
        return -EPERM
    if length > 64:
        return -EINVAL
    t.kernel.hostname = bytes(read_user(t, name, length))
    return 0


@syscall("getrandom", "hex size hex")
def sys_getrandom(t, buf, length, flags, *_):
    if flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) or \
            (flags & GRND_RANDOM and flags & GRND_INSECURE):
        return -EINVAL
    length = min(length, 33554431)
    write_user(t, buf, os.urandom(length))
    return length


@syscall("rseq", "hex size hex hex", note="partial: always ENOSYS, by design (glibc falls back)")
def sys_rseq(t, *_):
    return -38      # ENOSYS, without the once-per-name log line


@syscall("sysinfo", "hex")
def sys_sysinfo(t, info, *_):
    k = t.kernel
    frames = k.frames
    uptime = (_time.monotonic_ns() - k.boot_ns) // 1_000_000_000
    data = struct.pack("<q3Q6QHH4xQQI", uptime, 0, 0, 0,
                       frames.total * 4096, frames.free * 4096, 0, 0, 0, 0,
                       len([p for p in k.processes.values() if p.alive]), 0, 0, 0, 1)
    write_user(t, info, data.ljust(112, b"\0"))
    return 0

