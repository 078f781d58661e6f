"""The `akuma` command."""
import argparse
import os
import sys

from akuma.cli.options import parse_size, parse_volume, parse_env

DEFAULT_MEM = 512 << 20


def build_parser():
    p = argparse.ArgumentParser(
        prog="akuma",
        description="Akuma: a Linux-compatible AArch64 kernel in Python, running real "
                    "AArch64 ELF programs on a unicorn core.")
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
    r.add_argument("--strace", nargs="?", const="", default=None, metavar="FILTER",
                   help="print every syscall to stderr; FILTER is a comma list of names")
    r.add_argument("program", metavar="PROGRAM")
    r.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")
    s = sub.add_parser("syscalls", help="list every AArch64 syscall and its support level")
    s.add_argument("--missing", action="store_true", help="only the unsupported ones")
    return p


_RUN_VALUE_OPTIONS = {"-v", "--volume", "-w", "--workdir", "-e", "--env", "--mem", "--image"}


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


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:
        argv = _normalize_run_args(argv)
    parser = build_parser()
    opts = parser.parse_args(argv)
    try:
        if opts.command == "run":
            from akuma.cli.run import run
            return run(opts)
        if opts.command == "syscalls":
            return _syscalls(opts)
        parser.print_help()
        print("\nBooting a full system image comes with `akuma image`; today use "
              "`akuma run -- PROGRAM`.", file=sys.stderr)
        return 2
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
