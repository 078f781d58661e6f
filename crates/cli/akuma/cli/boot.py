"""`akuma` (no subcommand): boot a system image.

The kernel mounts the image as /, proc at /proc, devfs at /dev and a tmpfs at
/tmp, then starts /sbin/init (busybox init reading /etc/inittab) on the
console — or, with --kernel-shell or on an image without /sbin/init, the
kernel's own shell (akuma.kernel.kshell) on the console.  With -c, pid 1
runs rcS and then `/bin/sh -c COMMAND`, and akuma exits with the command's
status.  reboot(2) (poweroff, reboot, halt) ends
the kernel loop; every filesystem is then flushed and unmounted and akuma
exits 0."""
import os
import sys
import tempfile
import time

from akuma.abi import KernelError

INIT = b"/sbin/init"
RCS = "/etc/init.d/rcS"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# pid 1 for -c: rcS as at boot, then the command as its child (pid 1 stays
# the shell, so the command never runs with init's signal rules).
_RUN_COMMAND = f'if [ -x {RCS} ]; then {RCS}; fi; /bin/sh -c "$1"'


def console_files(kernel, is_init):
    """fds 0, 1, 2 of init: the console.  On a host terminal that is the
    kernel's console tty (raw host terminal, the guest's own line discipline,
    the controlling terminal of init's session); otherwise the host's stdin,
    stdout and stderr pass through, as for `akuma run`."""
    from akuma.vfs import HostStream
    from akuma.kernel.tty.console import host_console
    files = [HostStream(os.dup(fd), b"/dev/console") for fd in (0, 1, 2)]
    # A real init (busybox) hands the console to its shell with TIOCSCTTY.
    files, _console = host_console(kernel, files, claim_session=not is_init, machine=True)
    # (the console is stopped by kernel.run)
    return files


class BootLog:
    """`[  0.123] message` lines on stderr, timed from the start of the boot."""

    def __init__(self, quiet):
        self.quiet = quiet
        self.t0 = time.monotonic()

    def __call__(self, msg):
        if not self.quiet:
            # \r\n: once the console is up the host terminal is raw.
            end = "\r\n" if sys.stderr.isatty() else "\n"
            sys.stderr.write(f"[{time.monotonic() - self.t0:9.3f}] {msg}{end}")
            sys.stderr.flush()


def boot(opts):
    log = BootLog(opts.quiet)
    try:
        image = _image_path(opts)
    except _BootError as e:
        print(f"akuma: {e}", file=sys.stderr)
        return 125
    log.t0 = time.monotonic()          # boot timings start after any image build
    snapshot = None
    try:
        if opts.snapshot:
            snapshot = _snapshot_copy(image)
        vfs = _mount_root(snapshot or image, opts.volume, log, image)
    except (_BootError, KernelError, OSError) as e:
        print(f"akuma: cannot mount {image}: {_why(e)}", file=sys.stderr)
        return 125
    finally:
        if snapshot:
            os.unlink(snapshot)       # the mounted copy lives on through its open fd
    try:
        return _run(opts, vfs, log)
    finally:
        for path, err in vfs.unmount_all():
            print(f"akuma: unmounting {path.decode(errors='replace')}: {err}", file=sys.stderr)
        if not opts.snapshot:
            log("disks flushed")


class _BootError(Exception):
    pass


def _why(e):
    if isinstance(e, KernelError):
        return os.strerror(e.errno) + (f" ({e.args[1]})" if len(e.args) > 1 else "")
    return str(e)


def _image_path(opts):
    if opts.image:
        if not os.path.isfile(opts.image):
            raise _BootError(f"{opts.image}: no such image file")
        return opts.image
    from akuma.image import ImageError
    from akuma.image.cache import default_image
    from akuma.image.progress import Progress
    try:
        path, built = default_image(progress=Progress())
    except ImageError as e:
        raise _BootError(f"cannot build the default image: {e}") from None
    if built:
        print(f"akuma: built the system image {path}", file=sys.stderr)
    return path


def _snapshot_copy(image):
    """--snapshot: the session runs on a private copy; the image file is
    never opened for writing."""
    from akuma.image.sparse import copy_sparse
    fd, tmp = tempfile.mkstemp(prefix="akuma-snapshot-", suffix=".img")
    os.close(fd)
    try:
        copy_sparse(image, tmp)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _mount_root(path, volumes, log, shown):
    from akuma.vfs import Vfs, HostFs, MemFs, ProcFs, make_devfs
    from akuma.vfs.ext2 import Ext2Fs
    vfs = Vfs()
    try:
        root = Ext2Fs(path)
    except KernelError as e:
        if e.errno == 16:   # EBUSY: another writer holds the image
            raise _BootError("the image is in use by another akuma (try --snapshot)") from None
        raise
    vfs.mount(b"/", root, readonly=root.readonly)
    st = root.statfs()
    used = 100 * (st["f_blocks"] - st["f_bfree"]) // max(1, st["f_blocks"])
    log(f"root: {shown} (ext2, {st['f_blocks'] * st['f_bsize'] / 2**30:.1f} GiB, "
        f"{used}% used){' ' + root.mount_note if root.mount_note else ''}")
    vfs.mount(b"/proc", ProcFs(lambda: _exe_of(vfs)))
    vfs.mount(b"/dev", make_devfs())
    vfs.mount(b"/tmp", MemFs(mode=0o1777))
    for host, guest, ro in volumes:
        if guest.rstrip("/") == "":
            raise _BootError(f"-v {host}:/: the image is the root (mount elsewhere)")
        if not os.path.isdir(host):
            raise _BootError(f"-v {host}: not a directory")
        vfs.mount(os.fsencode(guest.rstrip("/")), HostFs(os.fsencode(host), readonly=ro),
                  readonly=ro)
    log("mounted proc on /proc, devfs on /dev, tmpfs on /tmp"
        + "".join(f", {h} on {g}" for h, g, _ in volumes))
    return vfs


_kernels = {}


def _exe_of(vfs):
    k = _kernels.get(id(vfs))
    return k.current_exe() if k else b""


def _environment():
    env = {"HOME": "/", "PATH": PATH, "TERM": os.environ.get("TERM", "linux"),
           "SHELL": "/bin/sh", "USER": "root", "LOGNAME": "root"}
    return [f"{k}={v}".encode() for k, v in env.items()]


def _warn(msg):
    print(msg, file=sys.stderr)


def _start_ssh(kernel, log, password_auth=False):
    """The kernel's SSH server on guest port 22 (host 2222 by the default
    forward); a failure is a warning, never a failed boot.  Password auth
    (against /etc/shadow) only with --ssh-password-auth."""
    from akuma.ssh import kernelservice
    try:
        kernelservice.start(kernel, **({"password_auth": True} if password_auth else {}))
    except (KernelError, OSError) as e:
        _warn(f"akuma: ssh: cannot listen on guest port 22: {_why(e)}")
        return
    log("ssh: listening on guest port 22" + (" (password auth on)" if password_auth else ""))


def _run(opts, vfs, log):
    from akuma.kernel import Kernel, ExecError
    from akuma.kernel.klog import route_python_logging
    strace = None
    if opts.strace is not None:
        strace = [n for n in opts.strace.split(",") if n] if opts.strace else []
    kernel = Kernel(vfs, mem=opts.mem, strace=strace)
    route_python_logging(kernel)        # kernel code's warnings: one log line each
    # A hangup or SIGTERM stops the machine cleanly (disks flushed), as
    # QEMU ends on them; Ctrl+C and SIGQUIT still reach the guest.
    import signal as _signal
    kernel.host_shutdown_signals = frozenset({_signal.SIGHUP, _signal.SIGTERM})
    kernel.port_forwards = list(opts.publish)
    from akuma.net.forward import BOOT_DEFAULTS, publish
    forwarded = publish(kernel, kernel.port_forwards, _warn, defaults=BOOT_DEFAULTS)
    if forwarded:
        log("forwarding " + ", ".join(f"{a}:{port}->{g}/{p}" for (a, _, g, p), port in forwarded))
    from akuma.net.service import start_dhcp
    start_dhcp(kernel, log)             # eth0 configured by the NAT's DHCP server
    _kernels[id(vfs)] = kernel
    if opts.shell_command is None:
        _start_ssh(kernel, log, getattr(opts, "ssh_password_auth", False))   # issue 9: sshd on guest port 22
    env = _environment()
    if opts.shell_command is not None:
        path, argv, cwd = b"/bin/sh", [b"sh", b"-c", _RUN_COMMAND.encode(), b"akuma-init",
                                       os.fsencode(opts.shell_command)], b"/root"
        env[0] = b"HOME=/root"
        shown = f"rcS, then /bin/sh -c {opts.shell_command!r}"
    elif not opts.kernel_shell and _is_executable(vfs, INIT):
        path, argv, cwd = INIT, [b"init"], b"/"
        shown = "/sbin/init"
    else:
        # --kernel-shell, or an image with no /sbin/init: the kernel's own
        # shell on the console (the seed's built-in shell).
        return _run_kernel_shell(kernel, vfs, env, log)
    if not _is_dir(vfs, cwd):
        cwd = b"/"
    try:
        init = kernel.spawn(path, argv, env, files=console_files(kernel, path == INIT),
                             cwd=cwd)
    except ExecError as e:
        kernel.restore_host_ttys()      # the console may have made the terminal raw
        print(f"akuma: cannot start init: {e}", file=sys.stderr)
        return 125
    # As on Linux, init ignores every signal it does not handle: busybox
    # init resets its handlers while it runs the shutdown actions, and a
    # second `poweroff` (SIGUSR2) must not kill it then.
    init.unkillable = path == INIT
    log(f"started {shown} (pid {init.pid})")
    code = _run_until(kernel, vfs, init, log)
    if kernel.shutdown is None and opts.shell_command is None:
        log(f"init exited (status {code})")
    return code


def _run_until(kernel, vfs, first, log):
    """Run the machine until ``first`` ends or it is shut down; akuma's
    exit status."""
    from akuma.kernel import wait_status_to_exit_code
    try:
        status = kernel.run(until=first)
    finally:
        _kernels.pop(id(vfs), None)
    if kernel.shutdown is not None:
        log(f"{kernel.shutdown}")
        return kernel.shutdown_status
    return wait_status_to_exit_code(status)


def _run_kernel_shell(kernel, vfs, env, log):
    from akuma.kernel.kshell import start_kernel_shell
    cwd = b"/root" if _is_dir(vfs, b"/root") else b"/"
    env = [b"HOME=" + cwd if e.startswith(b"HOME=") else e for e in env]
    proc = start_kernel_shell(kernel, console_files(kernel, False), env, cwd=cwd)
    log(f"started the kernel shell (pid {proc.pid}); `exit` ends the session")
    return _run_until(kernel, vfs, proc, log)


def _is_executable(vfs, path):
    try:
        st = vfs.stat(path)
    except KernelError:
        return False
    return st.is_reg and bool(st.mode & 0o111)


def _is_dir(vfs, path):
    try:
        return vfs.stat(path).is_dir
    except KernelError:
        return False
