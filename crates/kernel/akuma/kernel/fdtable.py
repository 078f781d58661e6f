"""A process's file descriptor table: fd -> (open file, close-on-exec)."""
from akuma.abi import KernelError
from akuma.abi.errors import EBADF, EMFILE


class FdTable:
    def __init__(self):
        self._files = {}
        self._cloexec = set()

    def get(self, fd):
        f = self._files.get(fd)
        if f is None:
            raise KernelError(EBADF)
        return f

    def install(self, f, cloexec=False, lowest=0, limit=1024):
        """Put ``f`` at the lowest free fd >= ``lowest``."""
        fd = lowest
        while fd in self._files:
            fd += 1
        if fd >= limit:
            raise KernelError(EMFILE)
        self.install_at(fd, f, cloexec)
        return fd

    def install_at(self, fd, f, cloexec=False):
        old = self._files.get(fd)
        self._files[fd] = f
        f.refs = getattr(f, "refs", 0) + 1
        if cloexec:
            self._cloexec.add(fd)
        else:
            self._cloexec.discard(fd)
        if old is not None:
            _drop(old)

    def close(self, fd):
        f = self._files.pop(fd, None)
        if f is None:
            raise KernelError(EBADF)
        self._cloexec.discard(fd)
        _drop(f)

    def is_cloexec(self, fd):
        self.get(fd)
        return fd in self._cloexec

    def set_cloexec(self, fd, on):
        self.get(fd)
        (self._cloexec.add if on else self._cloexec.discard)(fd)

    def copy(self):
        """A new table referring to the same open files (fork)."""
        t = FdTable()
        for fd, f in self._files.items():
            t.install_at(fd, f, fd in self._cloexec)
        return t

    def close_on_exec(self):
        for fd in sorted(self._cloexec):
            self.close(fd)

    def close_all(self):
        for fd in list(self._files):
            self.close(fd)

    def items(self):
        return sorted(self._files.items())

    def __contains__(self, fd):
        return fd in self._files

    def __len__(self):
        return len(self._files)


def _drop(f):
    """Close the open file description when its last descriptor goes."""
    f.refs -= 1
    if f.refs <= 0:
        f.close()
