"""The terminal nodes of /dev: tty (the caller's controlling terminal),
console, ptmx and the pts/ directory of pty slaves."""
from akuma.abi import KernelError, makedev
from akuma.abi.errors import EEXIST, EIO, ENXIO
from akuma.kernel.tty import jobctl
from akuma.kernel.tty.pty import PTMX_RDEV, pty_table
from akuma.kernel.tty.tty import TtyFile

TTY_RDEV, CONSOLE_RDEV = makedev(5, 0), makedev(5, 1)


def install(kernel, devfs):
    """Add the terminal nodes to ``devfs`` (a DevFs) for ``kernel``."""
    table = pty_table(kernel)
    table.devfs = devfs

    def open_tty(inode, flags):
        t = kernel.cpu.task
        tty = jobctl.ctty_of(kernel, t.process) if t is not None else None
        if tty is None:
            raise KernelError(ENXIO)
        if tty.dead:
            raise KernelError(EIO)
        return TtyFile(tty, inode, flags, b"/dev/tty")

    def open_console(inode, flags):
        console = getattr(kernel, "console", None)
        if console is None:
            raise KernelError(ENXIO)
        return TtyFile(console.tty, inode, flags, b"/dev/console")

    def open_ptmx(inode, flags):
        return table.open_master(inode, flags)

    for name, rdev, driver, mode in ((b"tty", TTY_RDEV, open_tty, 0o666),
                                     (b"console", CONSOLE_RDEV, open_console, 0o600),
                                     (b"ptmx", PTMX_RDEV, open_ptmx, 0o666)):
        try:
            devfs.add_device(name, rdev, driver, mode=mode)
        except KernelError as e:
            if e.errno != EEXIST:
                raise
    try:
        devfs.root.mkdir(b"pts", 0o755)
    except KernelError as e:
        if e.errno != EEXIST:
            raise


def install_all(kernel):
    """Every devfs mounted in the kernel's VFS gets the terminal nodes."""
    for m in getattr(kernel.vfs, "mounts", lambda: [])():
        if getattr(m.fs, "fstype", None) == b"devtmpfs" and hasattr(m.fs, "add_device"):
            install(kernel, m.fs)
