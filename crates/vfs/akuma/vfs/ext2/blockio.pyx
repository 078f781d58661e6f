# cython: language_level=3
"""Block I/O on the image file and the write-back block cache; bitmap scans.

``BlockDev`` reads and writes whole blocks with pread/pwrite on the image fd.
Every block number is checked against the filesystem size before any I/O,
so nothing is ever read or written outside [0, nblocks * bsize): the image
file never grows.  Blocks live in a dict keyed by block number; a modified
block is handed back with ``put`` (dirty) and written at ``flush``.

Discipline: a caller takes a block with ``get``, changes it and calls
``put`` before it takes another block; eviction only happens in ``trim``,
which the filesystem calls between operations, so a buffer is never
replaced under a caller."""
from posix.unistd cimport pread, pwrite, fsync
from libc.errno cimport errno, EINTR
from libc.string cimport memset
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE

from akuma.abi import KernelError
from akuma.abi.errors import EIO, EROFS, EINVAL


cdef class BlockDev:
    cdef readonly int fd
    cdef readonly Py_ssize_t bsize
    cdef readonly unsigned long long nblocks
    cdef readonly bint readonly
    cdef public Py_ssize_t max_cached
    cdef dict cache
    cdef set dirty
    cdef public unsigned long long reads, writes

    def __init__(self, int fd, Py_ssize_t bsize, unsigned long long nblocks,
                 bint readonly=False, Py_ssize_t max_cached=8192):
        if bsize < 512 or bsize > 65536 or bsize & (bsize - 1):
            raise KernelError(EINVAL, "bad block size")
        self.fd = fd
        self.bsize = bsize
        self.nblocks = nblocks
        self.readonly = readonly
        self.max_cached = max_cached
        self.cache = {}
        self.dirty = set()
        self.reads = self.writes = 0

    cdef inline void _check(self, unsigned long long n) except *:
        if n >= self.nblocks:
            raise KernelError(EIO, f"ext2: block {n} is past the end of the filesystem "
                                   f"({self.nblocks} blocks)")

    cdef bytearray _read(self, unsigned long long n):
        cdef bytearray buf = bytearray(self.bsize)
        cdef char *p = PyByteArray_AS_STRING(buf)
        cdef Py_ssize_t done = 0
        cdef Py_ssize_t r
        cdef long long off = <long long>n * self.bsize
        while done < self.bsize:
            with nogil:
                r = pread(self.fd, p + done, self.bsize - done, off + done)
            if r < 0:
                if errno == EINTR:
                    continue
                raise KernelError(EIO, f"ext2: read error at block {n} (errno {errno})")
            if r == 0:
                raise KernelError(EIO, f"ext2: block {n} is past the end of the image")
            done += r
        self.reads += 1
        return buf

    cdef void _write(self, unsigned long long n, bytearray buf) except *:
        cdef char *p = PyByteArray_AS_STRING(buf)
        cdef Py_ssize_t done = 0
        cdef Py_ssize_t w
        cdef long long off = <long long>n * self.bsize
        self._check(n)
        if PyByteArray_GET_SIZE(buf) != self.bsize:
            raise KernelError(EIO, "ext2: block buffer of the wrong size")
        while done < self.bsize:
            with nogil:
                w = pwrite(self.fd, p + done, self.bsize - done, off + done)
            if w < 0:
                if errno == EINTR:
                    continue
                raise KernelError(EIO, f"ext2: write error at block {n} (errno {errno})")
            if w == 0:
                raise KernelError(EIO, f"ext2: short write at block {n}")
            done += w
        self.writes += 1

    cpdef bytearray get(self, unsigned long long n):
        """Block ``n`` (the cached buffer; call put(n, buf) after changing it)."""
        buf = self.cache.get(n)
        if buf is not None:
            return <bytearray>buf
        self._check(n)
        buf = self._read(n)
        self.cache[n] = buf
        return <bytearray>buf

    cpdef put(self, unsigned long long n, bytearray buf):
        """Block ``n`` now holds ``buf`` (dirty until the next flush)."""
        if self.readonly:
            raise KernelError(EROFS)
        self._check(n)
        if PyByteArray_GET_SIZE(buf) != self.bsize:
            raise KernelError(EIO, "ext2: block buffer of the wrong size")
        self.cache[n] = buf
        self.dirty.add(n)

    cpdef bytearray zero(self, unsigned long long n):
        """A zero-filled buffer for block ``n`` (newly allocated), already dirty."""
        cdef bytearray buf = bytearray(self.bsize)
        self.put(n, buf)
        return buf

    cpdef forget(self, unsigned long long n):
        """Drop a freed block from the cache: its contents no longer matter."""
        self.cache.pop(n, None)
        self.dirty.discard(n)

    cpdef Py_ssize_t flush(self, bint sync=True) except -1:
        """Write every dirty block (in block order); fsync if ``sync``."""
        cdef Py_ssize_t count = 0
        if self.dirty:
            for n in sorted(self.dirty):
                self._write(n, <bytearray>self.cache[n])
                count += 1
            self.dirty.clear()
        if sync and not self.readonly:
            if fsync(self.fd) < 0:
                raise KernelError(EIO, f"ext2: fsync failed (errno {errno})")
        return count

    cpdef trim(self):
        """Between operations: keep the cache bounded (clean blocks go first)."""
        if len(self.cache) <= self.max_cached:
            return
        if len(self.dirty) > self.max_cached // 2:
            self.flush(False)
        for n in [k for k in self.cache if k not in self.dirty]:
            del self.cache[n]

    def clear(self):
        self.cache.clear()
        self.dirty.clear()

    @property
    def ndirty(self):
        return len(self.dirty)

    @property
    def ncached(self):
        return len(self.cache)


def find_zero_bit(bytearray bm, Py_ssize_t start, Py_ssize_t end):
    """The first clear bit in [start, end) of bitmap ``bm``, or -1."""
    cdef Py_ssize_t limit = PyByteArray_GET_SIZE(bm) * 8
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(bm)
    cdef Py_ssize_t i
    if end > limit:
        end = limit
    if start < 0:
        start = 0
    i = start
    while i < end:
        if (i & 7) == 0 and i + 64 <= end:
            # whole words of ones are skipped eight bytes at a time
            if (p[i >> 3] & p[(i >> 3) + 1] & p[(i >> 3) + 2] & p[(i >> 3) + 3] &
                    p[(i >> 3) + 4] & p[(i >> 3) + 5] & p[(i >> 3) + 6] &
                    p[(i >> 3) + 7]) == 0xFF:
                i += 64
                continue
        if (i & 7) == 0 and p[i >> 3] == 0xFF:
            i += 8
            continue
        if not (p[i >> 3] >> (i & 7)) & 1:
            return i
        i += 1
    return -1


def count_zero_bits(bytearray bm, Py_ssize_t end):
    """Clear bits in [0, end) of ``bm``."""
    cdef Py_ssize_t limit = PyByteArray_GET_SIZE(bm) * 8
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(bm)
    cdef Py_ssize_t i, n = 0
    if end > limit:
        end = limit
    for i in range(end):
        if not (p[i >> 3] >> (i & 7)) & 1:
            n += 1
    return n


def set_bits(bytearray bm, Py_ssize_t start, Py_ssize_t end):
    """Set bits [start, end) (bitmap padding, metadata in mkfs)."""
    cdef Py_ssize_t limit = PyByteArray_GET_SIZE(bm) * 8
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(bm)
    cdef Py_ssize_t i
    if end > limit:
        end = limit
    if start < 0:
        start = 0
    for i in range(start, end):
        p[i >> 3] |= <unsigned char>(1 << (i & 7))


def is_zero(buf):
    """True if every byte of ``buf`` (a bytes-like block) is zero."""
    cdef const unsigned char[:] v = buf
    cdef Py_ssize_t i
    for i in range(v.shape[0]):
        if v[i]:
            return False
    return True


def get_u32(bytearray buf, Py_ssize_t idx):
    """Little-endian u32 number ``idx`` of a block (an indirect block entry)."""
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(buf)
    if idx < 0 or (idx + 1) * 4 > PyByteArray_GET_SIZE(buf):
        raise KernelError(EIO, "ext2: indirect index out of range")
    p += idx * 4
    return <unsigned int>p[0] | (<unsigned int>p[1] << 8) | (<unsigned int>p[2] << 16) | \
        (<unsigned int>p[3] << 24)


def set_u32(bytearray buf, Py_ssize_t idx, unsigned int value):
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(buf)
    if idx < 0 or (idx + 1) * 4 > PyByteArray_GET_SIZE(buf):
        raise KernelError(EIO, "ext2: indirect index out of range")
    p += idx * 4
    p[0] = value & 0xFF
    p[1] = (value >> 8) & 0xFF
    p[2] = (value >> 16) & 0xFF
    p[3] = (value >> 24) & 0xFF
