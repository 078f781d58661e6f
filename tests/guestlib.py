"""Helpers to build and run the AArch64 guest test programs in tests/guest/.

Importable without pytest.  Binaries are compiled with the ``ziglang`` PyPI
package (``python -m ziglang cc``) for ``aarch64-linux-musl`` and cached under
``<repo>/.cache/guest/``; the cache file name contains a hash of the source,
the compiler flags and the zig version, so a program is rebuilt only when one
of those changes.

Typical use::

    from tests import guestlib            # or: import guestlib
    exe = guestlib.build("hello")          # static ET_EXEC
    pie = guestlib.build("hello", pie=True)  # static-pie ET_DYN, no PT_INTERP
    if guestlib.qemu_path():
        cp = guestlib.run_qemu(exe)
        assert cp.stdout == b"hello, world\\n"
"""

from __future__ import annotations

import functools
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
from typing import Mapping, Optional, Sequence, Union

__all__ = [
    "GUEST_DIR",
    "CACHE_DIR",
    "REPO_ROOT",
    "PROGRAMS",
    "ZIG_TARGET",
    "BuildError",
    "build",
    "build_all",
    "compile_command",
    "cpu_expected",
    "qemu_path",
    "run_qemu",
    "zig_available",
    "zig_version",
]

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
GUEST_DIR = REPO_ROOT / "tests" / "guest"
CACHE_DIR = REPO_ROOT / ".cache" / "guest"

ZIG_TARGET = "aarch64-linux-musl"
BASE_FLAGS = ("-target", ZIG_TARGET, "-O2")
STATIC_FLAGS = ("-static",)
# zig 0.17's clang driver accepts this spelling and emits a static-pie
# (ET_DYN, PT_DYNAMIC with only R_AARCH64_RELATIVE relocs, no PT_INTERP).
PIE_FLAGS = ("-fPIE", "-static-pie")

PROGRAMS = (
    "hello",
    "args",
    "exitcode",
    "malloc",
    "cpu",
    "segv",
    "getrandom",
    "syscalls",
    "getppid_loop",
    "spin",
    "hwcap",
    "fork",
    "exec",
    "signals",
    "threads",
    "procbench",
    "procmisc",
    "sigadv",
    "threads2",
    "cat",
    "jit",
    "shmem",
    "pause",
    "fs_meta", "fs_locks", "events",
    "highaddr",
    "sysfuzz",
    "pipesize",
    "sleep",
)

DEFAULT_ENV = {"PATH": "/usr/bin:/bin"}


class BuildError(RuntimeError):
    """Compiling a guest program failed (or no compiler is available)."""


def _zig_cmd() -> list:
    return [sys.executable, "-m", "ziglang"]


@functools.lru_cache(maxsize=1)
def zig_version() -> Optional[str]:
    """The ziglang version string, or None if the package is unusable."""
    try:
        import ziglang  # noqa: F401  (presence check; the package has no API)
    except ImportError:
        return None
    try:
        cp = subprocess.run(
            _zig_cmd() + ["version"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if cp.returncode != 0:
        return None
    return cp.stdout.decode("utf-8", "replace").strip() or None


def zig_available() -> bool:
    """True if ``python -m ziglang`` works."""
    return zig_version() is not None


def _flags(pie: bool) -> tuple:
    return BASE_FLAGS + (PIE_FLAGS if pie else STATIC_FLAGS)


def compile_command(src: Union[str, os.PathLike], out: Union[str, os.PathLike],
                    pie: bool = False) -> list:
    """The exact command line used to compile ``src`` into ``out``."""
    return _zig_cmd() + ["cc", *_flags(pie), "-o", str(out), str(src)]


def build(name: str, pie: bool = False) -> pathlib.Path:
    """Compile tests/guest/<name>.c (cached) and return the binary's path.

    ``pie=False`` gives a ``-static`` ET_EXEC; ``pie=True`` gives a
    ``-static-pie`` ET_DYN without PT_INTERP.
    """
    src = GUEST_DIR / f"{name}.c"
    if not src.is_file():
        raise BuildError(f"no guest program source {src}")
    version = zig_version()
    if version is None:
        raise BuildError(
            "ziglang is not available: install it with `pip install ziglang` "
            "(needed to cross-compile the AArch64 guest test programs)"
        )
    flags = _flags(pie)
    h = hashlib.sha256()
    h.update(src.read_bytes())
    h.update(b"\0" + "\0".join(flags).encode() + b"\0" + version.encode())
    digest = h.hexdigest()[:16]
    out = CACHE_DIR / f"{name}{'-pie' if pie else ''}-{digest}"
    if out.is_file():
        return out

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=CACHE_DIR)
    os.close(fd)
    try:
        cmd = compile_command(src, tmp, pie=pie)
        cp = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=600, check=False)
        if cp.returncode != 0:
            raise BuildError(
                f"compiling {src.name} failed (exit {cp.returncode}):\n"
                f"$ {' '.join(cmd)}\n"
                + cp.stderr.decode("utf-8", "replace")
            )
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    return out


def build_all(pie: bool = False) -> dict:
    """Build every program in PROGRAMS; returns {name: path}."""
    return {name: build(name, pie=pie) for name in PROGRAMS}


def qemu_path() -> Optional[str]:
    """Path of qemu-aarch64-static, or None if it is not installed."""
    return shutil.which("qemu-aarch64-static")


def run_qemu(
    binary: Union[str, os.PathLike],
    args: Sequence[Union[str, bytes]] = (),
    env: Optional[Mapping[str, str]] = None,
    input: Optional[bytes] = None,
    timeout: Optional[float] = 60,
) -> subprocess.CompletedProcess:
    """Run ``qemu-aarch64-static binary args...``; stdout/stderr are bytes.

    ``env`` defaults to ``{"PATH": "/usr/bin:/bin"}``.  A guest killed by a
    signal shows up as a negative returncode (e.g. -11 for SIGSEGV), because
    qemu-user re-raises the guest's fatal signal on itself.
    """
    qemu = qemu_path()
    if qemu is None:
        raise FileNotFoundError("qemu-aarch64-static not found on PATH")
    return subprocess.run(
        [qemu, os.fspath(binary), *args],
        env=dict(DEFAULT_ENV if env is None else env),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=timeout,
        check=False,
    )


def cpu_expected(n: int = 2_000_000, mib: int = 8) -> bytes:
    """Expected stdout of ``cpu N MIB`` computed in Python."""
    comp = bytearray(n + 1)
    count = 0
    for i in range(2, n + 1):
        if not comp[i]:
            count += 1
            start = i * i
            if start <= n:
                comp[start::i] = b"\x01" * len(range(start, n + 1, i))
    buf = bytes(((i * 131) + (i >> 10)) & 0xFF for i in range(1 << 20))
    h = hashlib.sha256()
    for _ in range(mib):
        h.update(buf)
    return f"primes={count}\nsha256={h.hexdigest()}\n".encode()


if __name__ == "__main__":
    # `python tests/guestlib.py NAME [--pie]`: build one guest program and
    # print its path (the README's first command uses it).
    if len(sys.argv) < 2 or sys.argv[1] not in PROGRAMS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(PROGRAMS)}}} [--pie]")
    print(build(sys.argv[1], pie="--pie" in sys.argv[2:]))
