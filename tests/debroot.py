"""A small Debian arm64 root filesystem for tests: real glibc and musl
programs (busybox-static, dash with glibc's ld.so, musl's loader).

Packages are downloaded with `apt-get download` from the Debian archive the
host's apt points at, through an apt state private to <repo>/.cache/apt-arm64
(the host's apt configuration and dpkg architectures are not touched), and
extracted with dpkg-deb.  Nothing here resolves dependencies: callers name
self-contained package sets.  Everything is cached between runs."""
import os
import pathlib
import shutil
import subprocess

REPO = pathlib.Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "apt-arm64"
PACKAGES = ("busybox-static", "dash", "libc6", "musl")


class Unavailable(Exception):
    """No apt-get/dpkg-deb, or the archive could not be reached."""


def _apt(*args):
    opts = ["-o", "APT::Architecture=arm64", "-o", "APT::Architectures::=arm64",
            "-o", f"Dir::State::Lists={CACHE}/lists", "-o", f"Dir::State::status={CACHE}/status",
            "-o", f"Dir::Cache={CACHE}/cache", "-o", "Debug::NoLocking=1",
            "-o", "APT::Sandbox::User=root"]
    cp = subprocess.run(["apt-get", "-q", *opts, *args], cwd=CACHE / "debs",
                        capture_output=True, text=True, timeout=600)
    if cp.returncode != 0:
        raise Unavailable(f"apt-get {' '.join(args)}: {cp.stderr.strip()[-300:]}")


def sysroot(packages=PACKAGES):
    """Path of an extracted root with ``packages`` (arm64)."""
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        raise Unavailable("apt-get and dpkg-deb are needed to fetch Debian arm64 packages")
    root = CACHE / ("root-" + "-".join(sorted(packages)))
    if (root / ".complete").exists():
        return root
    for d in ("lists/partial", "cache/archives/partial", "debs"):
        (CACHE / d).mkdir(parents=True, exist_ok=True)
    (CACHE / "status").touch()
    debs = lambda: {p.name.split("_")[0]: p for p in (CACHE / "debs").glob("*.deb")}  # noqa: E731
    missing = [p for p in packages if p not in debs()]
    if missing:
        if not any((CACHE / "lists").glob("*Packages*")):
            _apt("update")
        _apt("download", *[f"{p}:arm64" for p in missing])
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for p in packages:
        subprocess.run(["dpkg-deb", "-x", str(debs()[p]), str(tmp)], check=True)
    (tmp / ".complete").touch()
    shutil.rmtree(root, ignore_errors=True)
    os.replace(tmp, root)
    return root
