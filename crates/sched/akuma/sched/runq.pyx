# cython: language_level=3, boundscheck=False, wraparound=False
"""The run queue in C: a ring of task references, picked round robin.

Every switch goes through ``pick`` and ``append``; as Python they were a
deque plus attribute checks per call.  Here the ring is a C array of
object pointers and the checks are C comparisons of the tasks' state
strings (the scheduler's interned constants)."""
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from libc.stdlib cimport malloc, realloc, free

cdef str RUNNABLE = "R"
cdef str BLOCKED = "S"
cdef str STOPPED = "T"


cdef class RunQueue:
    # (the fields are declared in runq.pxd; ring holds PyObject pointers)

    def __cinit__(self):
        self.cap = 64
        self.ring = <void **>malloc(self.cap * sizeof(void *))
        if self.ring == NULL:
            raise MemoryError()
        self.head = self.n = 0

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.ring != NULL:
            for i in range(self.n):
                Py_DECREF(<object>self.ring[(self.head + i) % self.cap])
            free(self.ring)

    def __len__(self):
        return self.n

    def __bool__(self):
        return self.n > 0

    cdef int _grow(self) except -1:
        cdef Py_ssize_t i, newcap = self.cap * 2
        cdef void **r = <void **>malloc(newcap * sizeof(void *))
        if r == NULL:
            raise MemoryError()
        for i in range(self.n):
            r[i] = self.ring[(self.head + i) % self.cap]
        free(self.ring)
        self.ring, self.cap, self.head = r, newcap, 0
        return 0

    cpdef append(self, t):
        if self.n == self.cap:
            self._grow()
        Py_INCREF(t)
        self.ring[(self.head + self.n) % self.cap] = <void *>t
        self.n += 1

    cpdef bint wake_simple(self, t) except -1:
        """Wake ``t`` if it sleeps on nothing but an explicit wake (no host
        fds to unregister): the common case (pipes, futexes), done without
        Python.  False when the scheduler's full wake is needed."""
        if t.state != BLOCKED:
            return True             # not asleep: nothing to do
        if t.wait_fds:
            return False
        t.state = RUNNABLE
        self.append(t)
        return True

    cdef object _popleft(self):
        cdef void *p = self.ring[self.head]
        self.head = (self.head + 1) % self.cap
        self.n -= 1
        t = <object>p
        Py_DECREF(t)            # the local `t` holds its own reference now
        return t

    cpdef pick(self):
        """The next runnable task (round robin), or None.  Entries that are
        no longer runnable are dropped; a task stopped by job control is
        parked (state STOPPED) until SIGCONT re-adds it."""
        while self.n:
            t = self._popleft()
            if t.state == RUNNABLE:
                if getattr(t, "stopped", False):
                    t.state = STOPPED
                    continue
                return t
        return None

    def remove(self, t):
        """Drop every entry of ``t`` (it exited)."""
        cdef Py_ssize_t i, kept = 0
        cdef void *p
        cdef void *target = <void *>t
        for i in range(self.n):
            p = self.ring[(self.head + i) % self.cap]
            if p == target:
                Py_DECREF(<object>p)
            else:
                self.ring[(self.head + kept) % self.cap] = p
                kept += 1
        self.n = kept

    def __iter__(self):
        cdef Py_ssize_t i
        return iter([<object>self.ring[(self.head + i) % self.cap] for i in range(self.n)])
