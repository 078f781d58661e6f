"""The root filesystem for `akuma run` until system images exist: a memfs
with /tmp, /dev and /proc, plus the user's -v volumes."""
import os

from akuma.vfs import Vfs, HostFs, HostStream, MemFs, ProcFs, make_devfs


def minimal_root(volumes, exe):
    """(vfs, [stdin, stdout, stderr files]) for the given volumes
    (host, guest, readonly); ``exe`` returns /proc/self/exe's target."""
    vfs = Vfs()
    host_root = any(guest == "/" for _, guest, _ in volumes)
    for host, guest, ro in sorted(volumes, key=lambda v: v[1].rstrip("/").count("/")):
        if not os.path.isdir(host):
            raise OSError(f"-v {host}: not a directory")
        vfs.mount(os.fsencode(guest), HostFs(os.fsencode(host), readonly=ro), readonly=ro)
    if not host_root:
        vfs.mount(b"/tmp", MemFs(mode=0o1777))
    vfs.mount(b"/dev", make_devfs())
    vfs.mount(b"/proc", ProcFs(exe))
    files = [HostStream(os.dup(fd), f"/dev/{name}".encode())
             for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr"))]
    return vfs, files
