"""Memory syscalls: brk and the mmap family on the process's AddressSpace."""
from akuma.abi import makedev
from akuma.abi.errors import (EACCES, EEXIST, EFAULT, EINVAL, ENODEV, ENOMEM, EOVERFLOW,
                              EPERM)
from akuma.abi.fcntl import O_APPEND
from akuma.mm import (PROT_READ, PROT_WRITE, PROT_EXEC, PAGE_SIZE, page_align, OutOfMemory,
                      KIND_ANON, KIND_ANON_SHARED)
from akuma.kernel.filemaps import file_mapping
from akuma.kernel.memfd import memfd_create, MFD_CLOEXEC, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE
from akuma.kernel.syscalls.args import s32
from akuma.kernel.syscalls.registry import syscall

MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE = 1, 2, 3
MAP_FIXED, MAP_ANONYMOUS, MAP_GROWSDOWN, MAP_NORESERVE = 0x10, 0x20, 0x100, 0x4000
MAP_POPULATE, MAP_STACK, MAP_FIXED_NOREPLACE = 0x8000, 0x20000, 0x100000
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2
MADV_DONTNEED = 4
PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC
MAX_MAP = 1 << 47
MAX_OFFSET = 1 << 63
MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4
DEV_ZERO = makedev(1, 5)
MEMFD_NAME_LIMIT = 4096


def _over_as_limit(t, grow, fixed_at=None):
    """RLIMIT_AS: the address space may not grow past the limit."""
    from akuma.kernel.rlimit import RLIMIT_AS, RLIM_INFINITY
    limit = t.process.rlimits[RLIMIT_AS][0]
    if limit == RLIM_INFINITY:
        return False
    a = t.process.aspace
    replaced = 0
    if fixed_at is not None:
        replaced = sum(min(v.end, fixed_at + grow) - max(v.start, fixed_at)
                       for v in a.vmas if v.start < fixed_at + grow and fixed_at < v.end)
    return a.size_bytes - replaced + grow > limit


@syscall("brk", "hex")
def sys_brk(t, addr, *_):
    a = t.process.aspace
    if addr == 0:
        return a.brk
    if addr > a.brk and (_over_as_limit(t, page_align(addr) - page_align(a.brk)) or
                         addr - a.brk > t.kernel.frames.total * PAGE_SIZE):
        return a.brk
    try:
        return a.set_brk(addr)
    except OutOfMemory:
        return a.brk


@syscall("mmap", "hex size hex hex fd hex")
def sys_mmap(t, addr, length, prot, flags, fd, offset, *_):
    a = t.process.aspace
    flags = s32(flags)
    kind = flags & 3
    if length == 0 or length > MAX_MAP or offset & (PAGE_SIZE - 1) or kind == 0 \
            or prot & ~PROT_MASK & 0xFFFFFFFF:
        return -EINVAL
    length = page_align(length)
    if not flags & MAP_ANONYMOUS and offset + length > MAX_OFFSET:
        return -EOVERFLOW
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr & (PAGE_SIZE - 1) or addr + length > (1 << 48):
            return -EINVAL
        if flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED and a.overlaps(addr, addr + length):
            return -EEXIST
        start = addr
    else:
        start = a.free_range(length, hint=addr & ~(PAGE_SIZE - 1))
        if start is None:
            return -ENOMEM
    if _over_as_limit(t, length, start if flags & MAP_FIXED else None):
        return -ENOMEM
    if prot & PROT_WRITE and not flags & MAP_NORESERVE and kind == MAP_PRIVATE and \
            length > t.kernel.frames.total * PAGE_SIZE:
        return -ENOMEM      # heuristic overcommit: more than all of RAM cannot be promised
    shared = kind in (MAP_SHARED, MAP_SHARED_VALIDATE)
    prot &= PROT_MASK
    growsdown = bool(flags & MAP_GROWSDOWN)
    try:
        if flags & MAP_ANONYMOUS or _is_dev_zero(f := t.process.fds.get(s32(fd))):
            a.map(start, length, prot, KIND_ANON_SHARED if shared else KIND_ANON,
                  name="/dev/zero (deleted)" if shared else "", growsdown=growsdown)
        else:
            err = _map_file(t, a, f, start, length, prot, shared, offset)
            if err:
                return err
        if flags & MAP_POPULATE and prot:
            _populate(a, start, start + length)
    except OutOfMemory:
        a.unmap(start, length)
        return -ENOMEM
    return start


def _is_dev_zero(f):
    """/dev/zero maps as anonymous memory (MAP_SHARED: shared anonymous)."""
    st = f.stat()
    return st.mode & 0o170000 == 0o020000 and st.rdev == DEV_ZERO


def _map_file(t, a, f, start, length, prot, shared, offset):
    """Map ``f`` at ``start``: demand-paged, MAP_SHARED through the file's
    page cache.  Returns -errno or 0."""
    if not f.readable:
        return -EACCES
    st = f.stat()
    if not st.is_reg:
        return -ENODEV if shared or not f.seekable else _copy_map(a, f, start, length, prot,
                                                                   offset)
    if shared and prot & PROT_WRITE:
        if not f.writable or f.flags & O_APPEND:
            return -EACCES
        seals = getattr(f.inode, "seals", 0)
        if seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE):
            return -EPERM
    fm = file_mapping(t.kernel, f, shared)
    name = f.path.decode(errors="replace") if f.path else ""
    a.map(start, length, prot, name=name, file=fm, pgoff=offset)
    return 0


def _copy_map(a, f, start, length, prot, offset):
    """A private map of a seekable non-regular file: its bytes copied now."""
    data = f.pread(length, offset)
    a.map(start, length, PROT_READ | PROT_WRITE)
    if data:
        a.write(start, data)
    a.protect(start, length, prot)
    return 0


def _populate(a, start, end):
    """MAP_POPULATE: fault every page in now (file pages through the pager)."""
    for va in range(start, end, PAGE_SIZE):
        v = a.find(va)
        if v is not None and v.file is not None:
            a.translate(va)
        else:
            a.pt.populate(va, va + PAGE_SIZE, 0)


@syscall("munmap", "hex size")
def sys_munmap(t, addr, length, *_):
    if addr & (PAGE_SIZE - 1) or length == 0 or addr + length > (1 << 48):
        return -EINVAL
    t.process.aspace.unmap(addr, length)
    return 0


@syscall("mprotect", "hex size hex")
def sys_mprotect(t, addr, length, prot, *_):
    if addr & (PAGE_SIZE - 1) or prot & ~PROT_MASK & 0xFFFFFFFF & ~0x03000000:
        return -EINVAL
    if length == 0:
        return 0
    if not t.process.aspace.protect(addr, page_align(length), prot & PROT_MASK):
        return -ENOMEM
    return 0


@syscall("mremap", "hex size size hex hex")
def sys_mremap(t, old, old_size, new_size, flags, new_addr, *_):
    a = t.process.aspace
    if old & (PAGE_SIZE - 1) or new_size == 0 or flags & ~7 or \
            (flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE):
        return -EINVAL
    old_size, new_size = page_align(old_size), page_align(new_size)
    vma = a.find(old)
    if vma is None or old + old_size > vma.end:
        return -EFAULT      # mremap(2): the old range is not entirely mapped
    if flags & MREMAP_FIXED:
        if new_addr & (PAGE_SIZE - 1) or (new_addr < old + old_size and old < new_addr + new_size):
            return -EINVAL
        a.unmap(new_addr, new_size)
        return _move(a, vma, old, old_size, new_size, new_addr)
    if new_size <= old_size:
        if new_size < old_size:
            a.unmap(old + new_size, old_size - new_size)
        return old
    end = old + new_size
    if old + old_size == vma.end and not a.overlaps(vma.end, end) and end <= (1 << 48):
        a.map(vma.end, end - vma.end, vma.prot, vma.kind, vma.name, file=vma.file,
              pgoff=vma.pgoff + len(vma), limit=vma.limit)
        return old
    if not flags & MREMAP_MAYMOVE:
        return -ENOMEM
    dst = a.free_range(new_size)
    if dst is None:
        return -ENOMEM
    return _move(a, vma, old, old_size, new_size, dst)


def _move(a, vma, old, old_size, new_size, dst):
    prot, kind, name = vma.prot, vma.kind, vma.name
    a.map(dst, new_size, prot, kind, name, file=vma.file, pgoff=vma.pgoff + old - vma.start,
          limit=vma.limit)
    a.pt.move(old, dst, min(old_size, new_size))
    a.unmap(old, old_size)
    return dst


@syscall("madvise", "hex size int", note="partial: MADV_DONTNEED zeroes; other advice accepted")
def sys_madvise(t, addr, length, advice, *_):
    if addr & (PAGE_SIZE - 1):
        return -EINVAL
    if s32(advice) == MADV_DONTNEED and length:
        t.process.aspace.pt.unmap(addr, addr + page_align(length))
    return 0



@syscall("msync", "hex size hex")
def sys_msync(t, addr, length, flags, *_):
    flags = s32(flags)
    if addr & (PAGE_SIZE - 1) or flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) or \
            (flags & MS_ASYNC and flags & MS_SYNC):
        return -EINVAL
    length = page_align(length)
    if addr + length > (1 << 48) or addr + length < addr:
        return -ENOMEM
    if length and not t.process.aspace.msync(addr, addr + length):
        return -ENOMEM
    return 0


@syscall("memfd_create", "path hex")
def sys_memfd_create(t, name, flags, *_):
    raw = t.process.aspace.read_cstr(name, MEMFD_NAME_LIMIT)
    if raw is None:
        return -EINVAL
    f = memfd_create(t.kernel, raw, s32(flags))
    from akuma.kernel.syscalls.fs import _nofile
    return t.process.fds.install(f, cloexec=bool(s32(flags) & MFD_CLOEXEC),
                                 limit=_nofile(t.process))
