"""The root filesystem for `akuma run` until system images exist: a memfs
with /tmp, /dev and /proc, plus the user's -v volumes."""
import os

from akuma.vfs import Vfs, HostFs, HostStream, MemFs, ProcFs, make_devfs


def minimal_root(volumes, exe, image=None):
    """(vfs, [stdin, stdout, stderr files]) for the given volumes
    (host, guest, readonly); ``exe`` returns /proc/self/exe's target.
    ``image``: an ext2 image file to use as the root filesystem."""
    vfs = Vfs()
    if image is not None:
        from akuma.vfs.ext2 import Ext2Fs
        fs = Ext2Fs(image)
        vfs.mount(b"/", fs, readonly=fs.readonly)
    mounts = [(guest.rstrip("/") or "/", HostFs(os.fsencode(host), readonly=ro), ro)
              for host, guest, ro in volumes]
    for host, _, _ in volumes:
        if not os.path.isdir(host):
            raise OSError(f"-v {host}: not a directory")
    # A memfs /tmp unless a volume provides one (a sysroot with its own tmp/).
    root_dirs = [host for host, guest, _ in volumes if guest.rstrip("/") == ""]
    image_tmp = image is not None and _is_dir(vfs, b"/tmp")
    if not any(guest == "/tmp" for guest, _, _ in mounts) and not image_tmp and \
            not any(os.path.isdir(os.path.join(h, "tmp")) for h in root_dirs):
        mounts.append(("/tmp", MemFs(mode=0o1777), False))
    # Parents before children, so a volume under /tmp lands on the memfs.
    for guest, fs, ro in sorted(mounts, key=lambda m: (m[0] != "/", m[0].count("/"))):
        vfs.mount(os.fsencode(guest), fs, readonly=ro)
    vfs.mount(b"/dev", make_devfs())
    vfs.mount(b"/proc", ProcFs(exe))
    files = [HostStream(os.dup(fd), f"/dev/{name}".encode())
             for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr"))]
    return vfs, files


def _is_dir(vfs, path):
    from akuma.abi import KernelError
    try:
        return vfs.stat(path).is_dir
    except KernelError:
        return False
