"""`akuma run`: boot a kernel on a minimal root, run one program, exit with
its status (128+N for signal N)."""
import os
import sys

from akuma.abi import KernelError
from akuma.kernel.klog import route_python_logging
from akuma.kernel import Kernel, ExecError, wait_status_to_exit_code
from akuma.cli.rootfs import minimal_root


_kernel_for_exe = None


def run(opts):
    kernel_shell = getattr(opts, "run_kernel_shell", False)
    if opts.program is None and not kernel_shell:
        print("akuma run: PROGRAM is required (or --kernel-shell)", file=sys.stderr)
        return 2
    host_cwd = os.getcwd()
    volumes = list(opts.volume)
    program = opts.program
    sysroot = opts.image is not None or any(guest.rstrip("/") == "" for _, guest, _ in volumes)
    if not sysroot:
        # Like qemu-user: the current directory and the program's directory
        # are visible at their host paths (after the user's own volumes).
        taken = {guest.rstrip("/") for _, guest, _ in volumes}
        for d in (host_cwd, os.path.dirname(os.path.abspath(program or host_cwd))):
            if d not in taken and os.path.isdir(d):
                volumes.append((d, d, False))
                taken.add(d)
    workdir = opts.workdir or (host_cwd if not sysroot else "/")
    try:
        vfs, kernel_files = minimal_root(volumes, exe=lambda: _kernel_for_exe.current_exe() if _kernel_for_exe else b"",
                                         image=opts.image)
    except (OSError, KernelError) as e:
        print(f"akuma: cannot set up the root filesystem: {e}", file=sys.stderr)
        return 125
    try:
        return _run_on(opts, vfs, kernel_files, program, workdir)
    finally:
        # A clean shutdown: every filesystem flushed (an ext2 image is
        # marked clean again).
        for path, err in vfs.unmount_all():
            print(f"akuma: unmounting {path.decode(errors='replace')}: {err}", file=sys.stderr)


def _run_on(opts, vfs, kernel_files, program, workdir):
    env = [] if opts.clean_env else [f"{k}={v}" for k, v in os.environ.items()]
    env += opts.env
    argv = [program] + list(opts.args)
    strace = None
    if opts.strace is not None:
        strace = [n for n in opts.strace.split(",") if n] if opts.strace else []
    kernel = Kernel(vfs, mem=opts.mem, strace=strace)
    route_python_logging(kernel)        # kernel code's warnings: one log line each
    global _kernel_for_exe
    _kernel_for_exe = kernel
    if getattr(opts, "publish", None):
        from akuma.net.forward import publish
        publish(kernel, opts.publish, lambda msg: print(msg, file=sys.stderr))
    from akuma.kernel.tty.console import host_console
    kernel_files, _console = host_console(kernel, kernel_files)   # stopped by kernel.run
    if getattr(opts, "run_kernel_shell", False):
        from akuma.kernel.kshell import start_kernel_shell
        proc = start_kernel_shell(kernel, kernel_files, [os.fsencode(e) for e in env],
                                  cwd=os.fsencode(workdir))
        return wait_status_to_exit_code(kernel.run(until=proc))
    try:
        # As execve(2) is given it: relative paths resolve against the cwd.
        proc = kernel.spawn(os.fsencode(program),
                            [os.fsencode(a) for a in argv], [os.fsencode(e) for e in env],
                            files=kernel_files, cwd=os.fsencode(workdir))
    except ExecError as e:
        print(f"akuma: {e}", file=sys.stderr)
        return e.status
    status = kernel.run(until=proc)
    return wait_status_to_exit_code(status)

