cdef class Pipe:
    cdef char *data                 # ring of `cap` bytes, allocated on first write
    cdef Py_ssize_t cap, head, count
    cdef public object sched
    cdef public Py_ssize_t readers, writers
    cdef public list waiters        # tasks parked on the pipe (restart model)
    cdef public list listeners      # kernel-side consumers, called on every wake
    cdef public object ino
    cdef object __weakref__

    cdef Py_ssize_t take(self, char *dst, Py_ssize_t n) noexcept
    cdef int reserve(self) except -1
    cdef Py_ssize_t room_segments(self, char **seg1, Py_ssize_t *len1, char **seg2) noexcept
    cdef Py_ssize_t data_segments(self, char **seg1, Py_ssize_t *len1, char **seg2) noexcept
    cdef void commit(self, Py_ssize_t n) noexcept
    cdef void consume(self, Py_ssize_t n) noexcept
    cpdef wake_all(self)


cdef class PipeEndCore:
    # pipe.py's PipeEnd extends it: the fields the fast path reads.
    cdef public Pipe pipe
    cdef public bint is_writer
    cdef public object flags
