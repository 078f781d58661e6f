"""The base of open files that live in the kernel (pipe ends, eventfd,
timerfd, signalfd, epoll): not seekable, not a directory, not a terminal;
byte reads and writes go through readinto/writefrom."""
from akuma.abi import KernelError
from akuma.abi.errors import EINVAL, ENOTDIR, ENOTTY, ESPIPE


def join_views(views):
    """The bytes of ``views`` (guest buffers) as one buffer: the view itself
    when there is one (no copy), else their concatenation."""
    if len(views) == 1:
        return views[0]
    return b"".join(views)


def scatter_into(views, data):
    """Copy ``data`` into ``views`` in order; the bytes copied."""
    off = 0
    for v in views:
        n = min(len(v), len(data) - off)
        if n <= 0:
            break
        v[:n] = data[off:off + n]
        off += n
    return off


class KernelFile:
    seekable = False
    host_fd = None
    isatty = False
    opath = False

    def read(self, n):
        out = bytearray(n)
        got = self.readinto([memoryview(out)])
        return bytes(out[:got])

    def write(self, data):
        return self.writefrom([memoryview(data)])

    def readinto(self, views):
        raise KernelError(EINVAL)

    def writefrom(self, views):
        raise KernelError(EINVAL)

    def pread(self, n, off):
        raise KernelError(ESPIPE)

    pwrite = pread

    def lseek(self, off, whence):
        raise KernelError(ESPIPE)

    def ioctl(self, req, arg):
        raise KernelError(ENOTTY)

    def fionread(self):
        return 0

    def truncate(self, length):
        raise KernelError(EINVAL)

    def fsync(self):
        raise KernelError(EINVAL)

    def getdents64(self, n):
        raise KernelError(ENOTDIR)
