"""`akuma run`: boot a kernel on a minimal root, run one program, exit with
its status (128+N for signal N)."""
import os
import sys

from akuma.abi import KernelError
from akuma.kernel import Kernel, ExecError, wait_status_to_exit_code
from akuma.cli.rootfs import minimal_root


def run(opts):
    host_cwd = os.getcwd()
    volumes = list(opts.volume)
    program = opts.program
    sysroot = any(guest.rstrip("/") == "" for _, guest, _ in volumes)
    if not sysroot:
        # Like qemu-user: the current directory and the program's directory
        # are visible at their host paths (after the user's own volumes).
        taken = {guest.rstrip("/") for _, guest, _ in volumes}
        for d in (host_cwd, os.path.dirname(os.path.abspath(program))):
            if d not in taken and os.path.isdir(d):
                volumes.append((d, d, False))
                taken.add(d)
    workdir = opts.workdir or (host_cwd if not sysroot else "/")
    try:
        vfs, kernel_files = minimal_root(volumes, exe=lambda: kernel.current_exe())
    except (OSError, KernelError) as e:
        print(f"akuma: cannot set up the root filesystem: {e}", file=sys.stderr)
        return 125
    env = [] if opts.clean_env else [f"{k}={v}" for k, v in os.environ.items()]
    env += opts.env
    argv = [program] + list(opts.args)
    strace = None
    if opts.strace is not None:
        strace = [n for n in opts.strace.split(",") if n] if opts.strace else []
    kernel = Kernel(vfs, mem=opts.mem, strace=strace)
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

