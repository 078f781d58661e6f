cdef class RunQueue:
    cdef void **ring
    cdef Py_ssize_t cap, head, n

    cdef int _grow(self) except -1
    cdef object _popleft(self)
    cpdef append(self, t)
    cpdef pick(self)
    cpdef bint wake_simple(self, t) except -1
