# cython: language_level=3
"""C-level bases of Task and Process (task.py): the attributes that the
kernel loop (kloop.pyx) and the syscall fast path (fastsys.pyx) touch on
every switch are struct members there, not dict entries.  Everything else
stays an ordinary instance attribute."""


cdef class ProcessCore:
    pass


cdef class TaskCore:
    pass
