"""The per-user default image: built on first use into the XDG cache dir
(~/.cache/akuma), under a lock so two `akuma` runs never build it twice or
boot a half-built one."""
import contextlib
import fcntl
import hashlib
import os

from akuma.image import sysfiles
from akuma.image.apt import default_cache_dir
from akuma.image.build import DEFAULT_PACKAGES, DEFAULT_SIZE, build_image

# Bump when the image layout changes: a new name makes old cached images stale.
FORMAT = 2


def image_name(packages=DEFAULT_PACKAGES, size=DEFAULT_SIZE):
    h = hashlib.sha256(repr((FORMAT, sorted(packages), size, sysfiles.FILES,
                             sysfiles.DIRS)).encode()).hexdigest()[:12]
    return f"akuma-{h}.img"


@contextlib.contextmanager
def locked(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def default_image(progress=None, cache_dir=None, packages=DEFAULT_PACKAGES, size=DEFAULT_SIZE):
    """(path of the cached image, True if it was built now)."""
    cache_dir = os.fspath(cache_dir or default_cache_dir())
    path = os.path.join(cache_dir, "images", image_name(packages, size))
    if os.path.exists(path):
        return path, False
    with locked(os.path.join(cache_dir, "images", ".lock")):
        if os.path.exists(path):                # another run built it meanwhile
            return path, False
        build_image(path, size, packages, cache_dir=cache_dir, progress=progress)
    return path, True
