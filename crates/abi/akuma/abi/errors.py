"""errno values (asm-generic, the same on AArch64 Linux) and the kernel's
single error path: a handler raises KernelError(errno); the dispatcher
returns -errno to the guest."""
import errno as _host_errno

# Linux's numbers are the same on every mainstream architecture, including
# the x86-64 or arm64 host, so the host's errno module is the table.
globals().update({name: getattr(_host_errno, name) for name in dir(_host_errno)
                  if name.startswith("E") and name.isupper()})
ERESTARTSYS = 512      # kernel-internal: restart the call after a signal
ERESTARTNOHAND = 514


class KernelError(Exception):
    """A syscall fails with ``errno``."""

    __slots__ = ("errno",)

    def __init__(self, err, msg=None):
        super().__init__(msg or _host_errno.errorcode.get(err, str(err)))
        self.errno = err


def errno_name(err):
    return _host_errno.errorcode.get(err, str(err))
