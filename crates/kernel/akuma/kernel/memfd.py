"""memfd_create(2): an anonymous regular file whose bytes live in frames of
guest RAM (a PageCache), so read/write(2) and every MAP_SHARED mapping of
it touch the same memory.  File seals (F_ADD_SEALS/F_GET_SEALS) as Linux's
mm/memfd.c enforces them."""
from akuma.abi import KernelError
from akuma.abi import stat as st
from akuma.abi.errors import EBUSY, EFBIG, EINVAL, ENOSPC, EPERM
from akuma.mm import PageCache, OutOfMemory, PAGE_SIZE
from akuma.mm.vma import drop_file_pages
from akuma.vfs.inode import FileSystem, Inode
from akuma.vfs.openfile import InodeFile, nbytes

MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_NOEXEC_SEAL, MFD_EXEC = 1, 2, 4, 8, 0x10
F_ADD_SEALS, F_GET_SEALS = 1033, 1034
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE, F_SEAL_EXEC = \
    1, 2, 4, 8, 0x10, 0x20
ALL_SEALS = 0x3F
NAME_MAX = 249                      # NAME_MAX minus "memfd:"
MAX_SIZE = (1 << 63) - 1


class MemfdFs(FileSystem):
    """The internal mount memfds live on (st_dev for fstat)."""
    fstype = b"tmpfs"
    autocreate_mountpoints = False


class MemfdInode(Inode):
    def __init__(self, fs, frames, name, seals):
        super().__init__(fs, st.S_IFREG | 0o777)
        self.pages = PageCache(frames, frames.ram_view())
        self.name = name
        self.seals = seals
        self._size = 0

    @property
    def size(self):
        return self._size

    def truncate(self, length):
        if length > MAX_SIZE:
            raise KernelError(EFBIG)
        if length < self._size and self.seals & F_SEAL_SHRINK or \
                length > self._size and self.seals & F_SEAL_GROW:
            raise KernelError(EPERM)
        if length < self._size:
            first = (length + PAGE_SIZE - 1) // PAGE_SIZE
            drop_file_pages(self.pages, first)      # mapped pages past EOF: SIGBUS
            self.pages.drop_from(first)
            self.pages.zero_tail(length)
        self._size = length
        self.touch()

    def read_at(self, n, off):
        return self.pages.read(off, n, self._size)

    def readinto_at(self, views, off):
        return self.pages.readinto(views, off, self._size)

    def write_at(self, data, off):
        n = nbytes(data)
        if n == 0:
            return 0
        if self.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE):
            raise KernelError(EPERM)
        if off + n > self._size and self.seals & F_SEAL_GROW:
            raise KernelError(EPERM)
        if off + n > MAX_SIZE:
            raise KernelError(EFBIG)
        try:
            self.pages.write(data, off)
        except OutOfMemory:
            raise KernelError(ENOSPC) from None
        self._size = max(self._size, off + n)
        self.touch()
        return n

    def open(self, flags):
        return MemfdFile(self, flags)


class MemfdFile(InodeFile):
    def fcntl(self, cmd, arg):
        """The file-specific fcntl commands (seals); None: not ours."""
        inode = self.inode
        if cmd == F_GET_SEALS:
            return inode.seals
        if cmd != F_ADD_SEALS:
            return None
        if arg & ~ALL_SEALS:
            raise KernelError(EINVAL)
        if not self.writable:
            raise KernelError(EPERM)
        if inode.seals & F_SEAL_SEAL:
            raise KernelError(EPERM)
        if arg & F_SEAL_WRITE and not inode.seals & F_SEAL_WRITE and writably_mapped(inode.pages):
            raise KernelError(EBUSY)
        inode.seals |= arg
        return 0


def writably_mapped(cache):
    """Some process maps the file MAP_SHARED with PROT_WRITE."""
    return any(v.file is not None and v.file.cache is cache and v.file.shared and v.prot & 2
               for a in list(cache.mappers) for v in a.vmas)


def memfd_create(kernel, name, flags):
    """The OpenFile of a new memfd called ``name`` (bytes)."""
    if flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC) \
            or flags & MFD_HUGETLB or (flags & MFD_NOEXEC_SEAL and flags & MFD_EXEC):
        raise KernelError(EINVAL)
    if len(name) > NAME_MAX:
        raise KernelError(EINVAL)
    fs = getattr(kernel, "memfd_fs", None)
    if fs is None:
        fs = kernel.memfd_fs = MemfdFs()
    seals = 0 if flags & (MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL) else F_SEAL_SEAL
    if flags & MFD_NOEXEC_SEAL:
        seals |= F_SEAL_EXEC
    inode = MemfdInode(fs, kernel.frames, name, seals)
    if flags & MFD_NOEXEC_SEAL:
        inode.mode &= ~0o111
    from akuma.abi import fcntl as F
    f = inode.open(F.O_RDWR)
    f.path = b"/memfd:" + name + b" (deleted)"
    return f
