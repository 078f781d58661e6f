# cython: language_level=3
"""A pipe's buffer and wait lists in C: a ring of bytes that both the Python
file layer (pipe.py: readv, splice, poll, FIFOs, SSH sessions) and the C
syscall fast path (fastsys.pyx) read and write."""
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy

from akuma.sched.runq cimport RunQueue

PIPE_SIZE = 65536
_next_ino = [0]


cdef class Pipe:
    def __cinit__(self, *args, **kwargs):
        self.data = NULL
        self.cap = PIPE_SIZE
        self.head = self.count = 0
        self.waiters = []
        self.listeners = []

    def __init__(self, sched):
        self.sched = sched
        self.readers = self.writers = 0
        _next_ino[0] += 1
        self.ino = _next_ino[0]

    def __dealloc__(self):
        free(self.data)

    # -- sizes ---------------------------------------------------------------------
    @property
    def nbytes(self):
        """Bytes waiting to be read."""
        return self.count

    @property
    def capacity(self):
        return self.cap

    @capacity.setter
    def capacity(self, Py_ssize_t size):
        """F_SETPIPE_SZ: never below what the pipe holds."""
        cdef char *nd
        cdef Py_ssize_t first
        if size < self.count or size <= 0:
            raise ValueError("pipe holds more than the new size")
        if self.data != NULL:
            nd = <char *>malloc(size)
            if nd == NULL:
                raise MemoryError()
            first = min(self.count, self.cap - self.head)
            memcpy(nd, self.data + self.head, first)
            memcpy(nd + first, self.data, self.count - first)
            free(self.data)
            self.data = nd
            self.head = 0
        self.cap = size

    # -- the ring in C ------------------------------------------------------------
    cdef int reserve(self) except -1:
        if self.data == NULL:
            self.data = <char *>malloc(self.cap)
            if self.data == NULL:
                raise MemoryError()
            self.head = 0
        return 0

    cdef Py_ssize_t data_segments(self, char **seg1, Py_ssize_t *len1, char **seg2) noexcept:
        """The bytes to read as two runs: (seg1, len1) then seg2 for the rest
        of the returned total."""
        cdef Py_ssize_t first = min(self.count, self.cap - self.head)
        seg1[0] = self.data + self.head
        len1[0] = first
        seg2[0] = self.data
        return self.count

    cdef Py_ssize_t room_segments(self, char **seg1, Py_ssize_t *len1, char **seg2) noexcept:
        """The free space as two runs (call reserve() first)."""
        cdef Py_ssize_t tail = (self.head + self.count) % self.cap
        cdef Py_ssize_t room = self.cap - self.count
        seg1[0] = self.data + tail
        len1[0] = min(room, self.cap - tail)
        seg2[0] = self.data
        return room

    cdef void commit(self, Py_ssize_t n) noexcept:
        """``n`` bytes copied into the room are now data."""
        self.count += n

    cdef void consume(self, Py_ssize_t n) noexcept:
        self.count -= n
        self.head = 0 if self.count == 0 else (self.head + n) % self.cap

    cdef Py_ssize_t take(self, char *dst, Py_ssize_t n) noexcept:
        cdef char *s1
        cdef char *s2
        cdef Py_ssize_t l1
        n = min(n, self.data_segments(&s1, &l1, &s2))
        if n <= l1:
            memcpy(dst, s1, n)
        else:
            memcpy(dst, s1, l1)
            memcpy(dst + l1, s2, n - l1)
        self.consume(n)
        return n

    # -- Python side -----------------------------------------------------------------
    def read_into(self, views):
        """Move bytes into the writable memoryviews ``views``; the count."""
        cdef unsigned char[::1] mv
        cdef Py_ssize_t total = 0, n
        for v in views:
            if self.count == 0:
                break
            mv = v
            n = self.take(<char *>&mv[0], mv.shape[0]) if mv.shape[0] else 0
            total += n
        return total

    def write_from(self, views, Py_ssize_t limit):
        """Append up to ``limit`` bytes from ``views`` (buffers); the count."""
        cdef const unsigned char[::1] mv
        cdef char *s1
        cdef char *s2
        cdef Py_ssize_t l1, room, n, total = 0, done
        self.reserve()
        for v in views:
            if total >= limit:
                break
            mv = v
            n = min(<Py_ssize_t>mv.shape[0], limit - total)
            if n <= 0:
                continue
            room = self.room_segments(&s1, &l1, &s2)
            n = min(n, room)
            if n <= l1:
                memcpy(s1, &mv[0], n)
            else:
                memcpy(s1, &mv[0], l1)
                memcpy(s2, &mv[l1], n - l1)
            self.commit(n)
            total += n
        return total

    def peek(self):
        """Everything buffered, unread (tests, /proc)."""
        cdef char *s1
        cdef char *s2
        cdef Py_ssize_t l1
        if self.count == 0:
            return b""
        n = self.data_segments(&s1, &l1, &s2)
        return s1[:l1] + s2[:n - l1]

    cpdef wake_all(self):
        """Wake every parked task and call the listeners.  A task that sleeps
        on nothing else is made runnable in C (RunQueue.wake_simple)."""
        cdef RunQueue rq
        if self.waiters:
            waiters, self.waiters = self.waiters, []
            rq = self.sched.runq
            for t in waiters:
                if not rq.wake_simple(t):
                    self.sched.wake(t)
        if self.listeners:
            for cb in list(self.listeners):
                cb()


cdef class PipeEndCore:
    """The C base of pipe.py's PipeEnd (its pipe, side and file flags)."""
