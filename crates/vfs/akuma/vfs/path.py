"""Guest path syntax: limits and splitting.  Paths are bytes."""
from akuma.abi import KernelError
from akuma.abi.errors import ENAMETOOLONG, ENOENT

PATH_MAX = 4096     # including the NUL
NAME_MAX = 255
MAXSYMLINKS = 40    # symlinks followed in one lookup (Linux's limit)


def check_path(path):
    if not path:
        raise KernelError(ENOENT)
    if len(path) >= PATH_MAX:
        raise KernelError(ENAMETOOLONG)


def check_name(name):
    if len(name) > NAME_MAX:
        raise KernelError(ENAMETOOLONG)


def split(path):
    """Components of ``path``, empty ones (from // or a trailing /) dropped."""
    return [c for c in path.split(b"/") if c]


def join(parts):
    return b"/" + b"/".join(parts)
