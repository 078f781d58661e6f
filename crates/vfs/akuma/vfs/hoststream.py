"""HostStream: an already-open host fd (the host's stdin/stdout/stderr, dup'ed
by the kernel for ``akuma run``) as a guest open file.  The fd belongs to this
object and is closed with it.  Terminal ioctls are the kernel's business."""
import fcntl as _hfcntl
import os
import select
import stat as _hstat

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi import stat as st
from akuma.abi.errors import EBADF, EINVAL, ENOTDIR

from akuma.vfs.hostfs import HostFdIO, host_stat, hostcall
from akuma.vfs.inode import alloc_dev
from akuma.vfs.openfile import OpenFile

_DEV = alloc_dev()


class HostStream(HostFdIO, OpenFile):
    def __init__(self, fd, path=b""):
        try:
            hfl = _hfcntl.fcntl(fd, _hfcntl.F_GETFL)
        except OSError as e:
            raise KernelError(e.errno) from None
        flags = hfl & F.O_ACCMODE
        if hfl & os.O_APPEND:
            flags |= F.O_APPEND
        if hfl & os.O_NONBLOCK:
            flags |= F.O_NONBLOCK
        super().__init__(None, flags, path)
        self.host_fd = fd
        mode = os.fstat(fd).st_mode
        self.isatty = os.isatty(fd)
        self.seekable = _hstat.S_ISREG(mode)

    def _check_read(self):
        if not self.readable:
            raise KernelError(EBADF)

    @hostcall
    def stat(self):
        s = os.fstat(self.host_fd)
        out = host_stat(s, _DEV)
        # Present only the kinds the guest expects of a stream.
        if self.isatty or _hstat.S_ISCHR(s.st_mode):
            kind = st.S_IFCHR
        elif _hstat.S_ISFIFO(s.st_mode) or _hstat.S_ISSOCK(s.st_mode):
            kind = st.S_IFIFO if _hstat.S_ISFIFO(s.st_mode) else st.S_IFSOCK
        else:
            kind = st.S_IFREG
        out.mode = kind | (s.st_mode & 0o7777)
        return out

    @hostcall
    def truncate(self, length):
        if length < 0 or not self.writable or not self.seekable:
            raise KernelError(EINVAL)
        os.ftruncate(self.host_fd, length)

    @hostcall
    def fsync(self):
        if self.seekable:
            os.fsync(self.host_fd)

    def getdents(self):
        raise KernelError(ENOTDIR)

    def poll_ready(self):
        fd = self.host_fd
        if fd is None:
            return True, True
        p = select.poll()          # (poll, not select: no FD_SETSIZE limit)
        p.register(fd, select.POLLIN | select.POLLOUT)
        try:
            ev = p.poll(0)
        except OSError:
            return True, True          # let the read/write report the error
        mask = ev[0][1] if ev else 0
        # HUP/ERR count as ready: the read returns EOF or the error.
        bad = select.POLLHUP | select.POLLERR | select.POLLNVAL
        return bool(mask & (select.POLLIN | bad)), bool(mask & (select.POLLOUT | bad))

    def close(self):
        if self.host_fd is not None:
            fd, self.host_fd = self.host_fd, None
            os.close(fd)
        self.closed = True
