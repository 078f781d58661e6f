"""akuma.abi — the Linux AArch64 user ABI: errno and the KernelError path,
open/fcntl flags, struct stat, signal numbers.  Constants only; every other
crate may use it."""
from akuma.abi import errors, fcntl, stat, signals  # noqa: F401
from akuma.abi.errors import KernelError, errno_name  # noqa: F401
from akuma.abi.stat import Stat, makedev  # noqa: F401
