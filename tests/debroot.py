"""A small Debian arm64 root filesystem for tests: real glibc and musl
programs (busybox-static, dash with glibc's ld.so, musl's loader), extracted
into a host directory.  The packages come through akuma.image (a private
arm64 apt state in <repo>/.cache/apt-arm64, SHA256-checked .debs); only the
named packages are fetched, no dependencies.  Cached between runs."""
import os
import pathlib
import shutil

from akuma.image import ImageError
from akuma.image.apt import AptState
from akuma.image.deb import extract
from akuma.image.fetch import fetch_all

REPO = pathlib.Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"
PACKAGES = ("busybox-static", "dash", "libc6", "musl")

Unavailable = ImageError


def sysroot(packages=PACKAGES):
    """Path of an extracted root with ``packages`` (arm64)."""
    root = CACHE / "apt-arm64" / ("root-" + "-".join(sorted(packages)))
    if (root / ".complete").exists():
        return root
    apt = AptState(CACHE / "apt-arm64")
    pkgs = apt.exact(list(packages))
    debs = fetch_all(pkgs, apt.dir / "debs")
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for p in pkgs:
        extract(debs[p.name], tmp)
    (tmp / ".complete").touch()
    shutil.rmtree(root, ignore_errors=True)
    os.replace(tmp, root)
    return root
