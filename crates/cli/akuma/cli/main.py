"""The `akuma` command."""
import argparse
import os
import sys

from akuma.cli.options import parse_size, parse_volume, parse_env, parse_port, parse_disk_size

DEFAULT_MEM = 512 << 20


def build_parser():
    p = argparse.ArgumentParser(
        prog="akuma",
        description="Akuma: a Linux-compatible AArch64 kernel in Python, running real "
                    "AArch64 ELF programs on a unicorn core. Without a COMMAND, boot a "
                    "system image (built on first use from Debian arm64 packages and "
                    "cached in ~/.cache/akuma) to a shell on this terminal; `poweroff`, "
                    "leaving the shell, or Ctrl+A X (as in QEMU; Ctrl+A H lists the "
                    "keys) ends the session with the disks flushed.")
    _add_boot_options(p)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    r = sub.add_parser("run", help="run one AArch64 Linux program and exit with its status",
                       description="Run PROGRAM on a fresh kernel with a minimal root "
                                   "filesystem (memfs /tmp, /dev, /proc). Exit status is the "
                                   "program's, or 128+N if signal N killed it.")
    r.add_argument("-v", "--volume", action="append", default=[], type=parse_volume,
                   metavar="HOST:GUEST[:ro]",
                   help="mount a host directory in the guest (read-write unless :ro); "
                        "HOST:/ makes it the root. Without -v, the program's directory "
                        "and the current directory appear at their host paths.")
    r.add_argument("-w", "--workdir", metavar="DIR", help="working directory in the guest")
    r.add_argument("-e", "--env", action="append", default=[], type=parse_env,
                   metavar="KEY=VALUE", help="add to the program's environment")
    r.add_argument("--clean-env", action="store_true",
                   help="start from an empty environment instead of the caller's")
    r.add_argument("--image", metavar="PATH",
                   help="an ext2 image file as the root filesystem (flushed and marked "
                        "clean at exit)")
    r.add_argument("--mem", type=parse_size, default=DEFAULT_MEM, metavar="SIZE",
                   help="guest RAM (default 512M)")
    r.add_argument("-p", "--publish", action="append", default=[], type=parse_port,
                   metavar="[ADDR:]HOST:GUEST[/udp]",
                   help="forward host port HOST (on 127.0.0.1 unless ADDR) to guest port "
                        "GUEST (TCP unless /udp)")
    r.add_argument("--strace", nargs="?", const="", default=None, metavar="FILTER",
                   help="print every syscall to stderr; FILTER is a comma list of names")
    r.add_argument("--kernel-shell", action="store_true", dest="run_kernel_shell",
                   help="run the kernel's built-in shell (kshell) instead of PROGRAM; it "
                        "reads commands from stdin")
    r.add_argument("program", metavar="PROGRAM", nargs="?")
    r.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")
    s = sub.add_parser("syscalls", help="list every AArch64 syscall and its support level")
    s.add_argument("--missing", action="store_true", help="only the unsupported ones")
    _add_image_parser(sub)
    return p


def _add_boot_options(p):
    p.add_argument("--image", metavar="PATH",
                   help="boot this ext2 image instead of the cached default one")
    p.add_argument("--mem", type=parse_size, default=DEFAULT_MEM, metavar="SIZE",
                   help="guest RAM (default 512M)")
    p.add_argument("-v", "--volume", action="append", default=[], type=parse_volume,
                   metavar="HOST:GUEST[:ro]",
                   help="mount a host directory at GUEST (read-write unless :ro)")
    p.add_argument("-p", "--publish", action="append", default=[], type=parse_port,
                   metavar="[ADDR:]HOST:GUEST[/udp]",
                   help="forward host port HOST (on 127.0.0.1 unless ADDR) to guest port "
                        "GUEST (TCP unless /udp); 2222:22 and 8080:80 are forwarded by default")
    p.add_argument("--strace", nargs="?", const="", default=None, metavar="FILTER",
                   help="print every syscall to stderr; FILTER is a comma list of names")
    p.add_argument("--kernel-shell", action="store_true",
                   help="start the kernel's own shell instead of /sbin/init")
    p.add_argument("--snapshot", action="store_true",
                   help="send writes to a temporary copy: the image file stays unchanged")
    p.add_argument("-c", dest="shell_command", metavar="COMMAND",
                   help="boot, run COMMAND with /bin/sh -c, exit with its status")
    p.add_argument("-q", "--quiet", action="store_true", help="no boot log")
    p.add_argument("--ssh-password-auth", action="store_true",
                   help="let the SSH server accept passwords (checked against the image's "
                        "/etc/shadow); off by default: public keys only")


def _add_image_parser(sub):
    i = sub.add_parser("image", help="build system images",
                       description="System images: ext2 files with a Debian arm64 userland.")
    isub = i.add_subparsers(dest="image_command", metavar="ACTION")
    b = isub.add_parser("build", help="build an image from Debian arm64 packages",
                        description="Resolve the packages' dependencies with apt (a private "
                                    "arm64 state in the cache; the host's apt is not "
                                    "changed), download and verify the .debs, and write "
                                    "an ext2 image with busybox applets, dash as /bin/sh "
                                    "and Akuma's /etc.")
    b.add_argument("-o", "--output", metavar="PATH",
                   help="where to write the image (default: the cached default image)")
    b.add_argument("--size", type=parse_disk_size, default=None, metavar="SIZE",
                   help="filesystem size (default 1G; the file is sparse)")
    b.add_argument("--packages", nargs="+", metavar="PKG",
                   help="Debian packages to install (default: busybox-static coreutils dash "
                        "libc6 musl tcc libc6-dev sqlite3 git vim-tiny ca-certificates); "
                        "dependencies are added")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


_RUN_VALUE_OPTIONS = {"-v", "--volume", "-w", "--workdir", "-e", "--env", "--mem", "--image",
                      "-p", "--publish"}


def _normalize_run_args(argv):
    """A bare `--strace` before the program means "trace everything"
    (argparse would take the program name as its filter)."""
    out = list(argv)
    i = 1
    while i < len(out):
        tok = out[i]
        if tok == "--" or not tok.startswith("-"):
            break
        if tok == "--strace":
            out[i] = "--strace="
        elif tok in _RUN_VALUE_OPTIONS:
            i += 1
        i += 1
    return out


_SUBCOMMANDS = {"run", "syscalls", "image"}


def _normalize_top_args(argv):
    """The same for the boot options before any subcommand."""
    out = list(argv)
    for i, tok in enumerate(out):
        if tok in _SUBCOMMANDS or tok == "--":
            break
        if tok == "--strace":
            out[i] = "--strace="
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:
        argv = _normalize_run_args(argv)
    else:
        argv = _normalize_top_args(argv)
    parser = build_parser()
    opts = parser.parse_args(argv)
    try:
        if opts.command == "run":
            if opts.program is None and not opts.run_kernel_shell:
                parser.error("run: a PROGRAM is required (or --kernel-shell)")
            from akuma.cli.run import run
            return run(opts)
        if opts.command == "syscalls":
            return _syscalls(opts)
        if opts.command == "image":
            from akuma.cli.image_cmd import image_command
            return image_command(opts, parser)
        from akuma.cli.boot import boot
        return boot(opts)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 141
    except Exception as exc:       # a kernel bug: one line, never a traceback
        print(f"akuma: internal error: {exc!r} (set AKUMA_DEBUG=1 for details)",
              file=sys.stderr)
        if os.environ.get("AKUMA_DEBUG"):
            raise
        return 70


def _syscalls(opts):
    from akuma.kernel.syscalls.table import support
    for nr, name, level in support():
        if opts.missing and level != "ENOSYS":
            continue
        print(f"{nr:4d}  {name:24s} {level}")
    return 0


def entry():
    sys.exit(main())


if __name__ == "__main__":
    entry()
