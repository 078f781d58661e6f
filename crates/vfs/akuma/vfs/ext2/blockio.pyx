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
from libc.string cimport memset, memcpy
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE

from akuma.abi import KernelError
from akuma.abi.errors import EIO, EROFS, EINVAL


cdef void _pread_all(int fd, char *p, Py_ssize_t size, long long off,
                     unsigned long long block) except *:
    """``size`` bytes at ``off`` of the image, or EIO (``block`` names the
    first block in the message); EINTR is retried."""
    cdef Py_ssize_t done = 0, r
    while done < size:
        with nogil:
            r = pread(fd, p + done, size - done, off + done)
        if r < 0:
            if errno == EINTR:
                continue
            raise KernelError(EIO, f"ext2: read error at block {block} (errno {errno})")
        if r == 0:
            raise KernelError(EIO, f"ext2: block {block} is past the end of the image")
        done += r


cdef void _pwrite_all(int fd, const char *p, Py_ssize_t size, long long off,
                      unsigned long long block) except *:
    """All ``size`` bytes to ``off`` of the image, or EIO."""
    cdef Py_ssize_t done = 0, w
    while done < size:
        with nogil:
            w = pwrite(fd, p + done, size - done, off + done)
        if w < 0:
            if errno == EINTR:
                continue
            raise KernelError(EIO, f"ext2: write error at block {block} (errno {errno})")
        if w == 0:
            raise KernelError(EIO, f"ext2: short write at block {block}")
        done += w


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
        _pread_all(self.fd, PyByteArray_AS_STRING(buf), self.bsize,
                   <long long>n * self.bsize, n)
        self.reads += 1
        return buf

    cdef void _write(self, unsigned long long n, bytearray buf) except *:
        self._check(n)
        if PyByteArray_GET_SIZE(buf) != self.bsize:
            raise KernelError(EIO, "ext2: block buffer of the wrong size")
        _pwrite_all(self.fd, PyByteArray_AS_STRING(buf), self.bsize,
                    <long long>n * self.bsize, n)
        self.writes += 1

    def write_run(self, unsigned long long n, data):
        """Write whole blocks n, n+1, ... straight to the image (one host write);
        cached copies of them are dropped (``data`` is the newest contents)."""
        cdef const unsigned char[:] v = data
        cdef Py_ssize_t total = v.shape[0]
        cdef Py_ssize_t cnt = total // self.bsize
        cdef Py_ssize_t i
        if self.readonly:
            raise KernelError(EROFS)
        if cnt == 0 or total % self.bsize:
            raise KernelError(EIO, "ext2: partial block in a run write")
        if n + cnt > self.nblocks:
            raise KernelError(EIO, f"ext2: blocks {n}+{cnt} past the end of the filesystem")
        if self.cache:
            for i in range(cnt):
                if self.cache.pop(n + i, None) is not None:
                    self.dirty.discard(n + i)
        _pwrite_all(self.fd, <const char *>&v[0], total, <long long>n * self.bsize, n)
        self.writes += cnt

    def read_run(self, unsigned long long n, out):
        """Read whole blocks n, n+1, ... into the writable buffer ``out`` (cached
        blocks from the cache, the others with one pread per stretch)."""
        cdef unsigned char[:] v = out
        cdef Py_ssize_t total = v.shape[0]
        cdef Py_ssize_t cnt = total // self.bsize
        cdef Py_ssize_t i = 0, j, bs = self.bsize
        cdef unsigned char *p
        cdef object b
        if cnt == 0 or total % bs:
            raise KernelError(EIO, "ext2: partial block in a run read")
        if n + cnt > self.nblocks:
            raise KernelError(EIO, f"ext2: blocks {n}+{cnt} past the end of the filesystem")
        p = &v[0]
        while i < cnt:
            b = self.cache.get(n + i) if self.cache else None
            if b is not None:
                memcpy(p + i * bs, PyByteArray_AS_STRING(<bytearray>b), bs)
                i += 1
                continue
            j = i + 1
            while j < cnt and (not self.cache or (n + j) not in self.cache):
                j += 1
            _pread_all(self.fd, <char *>(p + i * bs), (j - i) * bs,
                       <long long>(n + i) * bs, n + i)
            self.reads += j - i
            i = j

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


# -- directory blocks (entries already validated by layout.parse_dir_block when
# the directory was first read; these only keep the walk bounded) ---------------------------
cdef inline Py_ssize_t _rec_len_for(Py_ssize_t nl):
    return (8 + nl + 3) & ~3


cdef inline unsigned int _u32(unsigned char *p):
    return <unsigned int>p[0] | (<unsigned int>p[1] << 8) | (<unsigned int>p[2] << 16) | \
        (<unsigned int>p[3] << 24)


def dir_find_slot(bytearray buf, Py_ssize_t need):
    """Offset of the first entry of a directory block with ``need`` bytes
    free after it (or that is unused and large enough), else -1; -2 for a
    malformed block."""
    cdef Py_ssize_t bs = PyByteArray_GET_SIZE(buf)
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(buf)
    cdef Py_ssize_t off = 0, rec, used
    while off + 8 <= bs:
        rec = p[off + 4] | (p[off + 5] << 8)
        if rec < 12 or off + rec > bs:
            return -2
        used = _rec_len_for(p[off + 6]) if _u32(p + off) else 0
        if rec - used >= need:
            return off
        off += rec
    return -1 if off == bs else -2


def dir_max_slack(bytearray buf):
    """The largest free space of one entry in a directory block (-1: malformed)."""
    cdef Py_ssize_t bs = PyByteArray_GET_SIZE(buf)
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(buf)
    cdef Py_ssize_t off = 0, rec, used, best = 0
    while off + 8 <= bs:
        rec = p[off + 4] | (p[off + 5] << 8)
        if rec < 12 or off + rec > bs:
            return -1
        used = _rec_len_for(p[off + 6]) if _u32(p + off) else 0
        if rec - used > best:
            best = rec - used
        off += rec
    return best if off == bs else -1


def dir_find_name(bytearray buf, bytes name):
    """(offset, offset of the previous entry or -1) of the live entry ``name``
    in a directory block, or None (also for a malformed block)."""
    cdef Py_ssize_t bs = PyByteArray_GET_SIZE(buf)
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(buf)
    cdef const unsigned char *q = name
    cdef Py_ssize_t nl = len(name)
    cdef Py_ssize_t off = 0, prev = -1, rec, i
    while off + 8 <= bs:
        rec = p[off + 4] | (p[off + 5] << 8)
        if rec < 12 or off + rec > bs:
            return None
        if p[off + 6] == nl and _u32(p + off) and off + 8 + nl <= bs:
            i = 0
            while i < nl and p[off + 8 + i] == q[i]:
                i += 1
            if i == nl:
                return off, prev
        prev = off
        off += rec
    return None


# -- runs of blocks ----------------------------------------------------------------------
def zero_run(bytearray bm, Py_ssize_t start, Py_ssize_t end):
    """How many clear bits from ``start`` on (stopping at ``end``)."""
    cdef Py_ssize_t limit = PyByteArray_GET_SIZE(bm) * 8
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(bm)
    cdef Py_ssize_t i = start
    if end > limit:
        end = limit
    if i < 0:
        return 0
    while i < end:
        if (i & 7) == 0 and i + 8 <= end and p[i >> 3] == 0:
            i += 8
            continue
        if (p[i >> 3] >> (i & 7)) & 1:
            break
        i += 1
    return i - start


def clear_bits(bytearray bm, Py_ssize_t start, Py_ssize_t end):
    """Clear bits [start, end); how many of them were set."""
    cdef Py_ssize_t limit = PyByteArray_GET_SIZE(bm) * 8
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(bm)
    cdef Py_ssize_t i, n = 0
    cdef unsigned char m
    if end > limit:
        end = limit
    if start < 0:
        start = 0
    for i in range(start, end):
        m = <unsigned char>(1 << (i & 7))
        if p[i >> 3] & m:
            n += 1
            p[i >> 3] &= ~m
    return n


def u32_run(bytearray buf, Py_ssize_t idx, Py_ssize_t maxn):
    """(value, n): entry ``idx`` of an indirect block and how many entries
    from it on continue it (v, v+1, v+2... or 0, 0, 0...), at most ``maxn``."""
    cdef Py_ssize_t cnt = PyByteArray_GET_SIZE(buf) // 4
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(buf)
    cdef unsigned int v, w
    cdef Py_ssize_t n = 1
    if idx < 0 or idx >= cnt or maxn < 1:
        raise KernelError(EIO, "ext2: indirect index out of range")
    v = _u32(p + idx * 4)
    while n < maxn and idx + n < cnt:
        w = _u32(p + (idx + n) * 4)
        if v == 0:
            if w != 0:
                break
        elif w != v + n:
            break
        n += 1
    return v, n


def set_u32_run(bytearray buf, Py_ssize_t idx, unsigned int first, Py_ssize_t n):
    """Entries idx..idx+n-1 of an indirect block = first, first+1, ..."""
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(buf)
    cdef Py_ssize_t i
    cdef unsigned int v
    if idx < 0 or n < 0 or (idx + n) * 4 > PyByteArray_GET_SIZE(buf):
        raise KernelError(EIO, "ext2: indirect index out of range")
    for i in range(n):
        v = first + <unsigned int>i
        p[(idx + i) * 4] = v & 0xFF
        p[(idx + i) * 4 + 1] = (v >> 8) & 0xFF
        p[(idx + i) * 4 + 2] = (v >> 16) & 0xFF
        p[(idx + i) * 4 + 3] = (v >> 24) & 0xFF


def u32_list(bytearray buf, Py_ssize_t start, Py_ssize_t end):
    """Entries [start, end) of an indirect block as a list."""
    cdef unsigned char *p = <unsigned char *>PyByteArray_AS_STRING(buf)
    cdef Py_ssize_t i
    if start < 0 or end * 4 > PyByteArray_GET_SIZE(buf):
        raise KernelError(EIO, "ext2: indirect index out of range")
    return [_u32(p + i * 4) for i in range(start, end)]
