# cython: language_level=3
"""Syscalls answered in C when the common case allows it: read(2) and
write(2) on pipe(2) pipes.  A pipe ping-pong switch spent ~5 µs of its
~8 µs in the Python handlers of these two calls.

Each handler either finishes the call exactly as the Python handler would
(same result, same wake-ups, same parking of a reader that must wait) or
answers FAST_PASS having changed nothing, and the Python handler runs:
bad fds, FIFOs, writes that do not fit at once, partial writes in
progress, EPIPE, pages that need the pager, faults."""
from cpython.dict cimport PyDict_GetItem
from cpython.ref cimport PyObject
from libc.stdint cimport uint64_t, int32_t

from akuma.arch.cpu cimport Cpu, FAST_PASS, FAST_DONE, FAST_BLOCK
from akuma.mm.mmu cimport user_copy
from akuma.kernel.pipecore cimport Pipe, PipeEndCore
from akuma.kernel.taskcore cimport TaskCore

cdef enum:
    NR_READ = 63
    NR_WRITE = 64
    O_NONBLOCK = 0o4000
    EAGAIN = 11
    MAX_RW = 0x7FFFF000      # Linux caps one read/write at this

cdef str BLOCKED = "S"      # akuma.sched's state strings
cdef object _pipe_end_type = None


cdef inline PipeEndCore _pipe_end(TaskCore t, uint64_t reg):
    """The pipe(2) end at fd ``reg`` (an int argument: the low 32 bits), or
    None for anything else (the Python handler reports EBADF and the rest)."""
    cdef int32_t fd = <int32_t>reg
    cdef PyObject *f
    if fd < 0:
        return None
    f = PyDict_GetItem(t.process.fds._files, fd)
    if f == NULL or type(<object>f) is not _pipe_end_type:
        return None
    return <PipeEndCore>f


cdef inline int _copy(TaskCore t, uint64_t va, char *s1, Py_ssize_t l1, char *s2,
                      Py_ssize_t n, bint to_user) noexcept:
    """Copy ``n`` bytes between ``t``'s memory at ``va`` and the ring's two runs."""
    pt = t.process.aspace.pt
    if n <= l1:
        return user_copy(pt, va, s1, n, to_user)
    if user_copy(pt, va, s1, l1, to_user):
        return -1
    return user_copy(pt, va + l1, s2, n - l1, to_user)


cdef int fast_read(object task, uint64_t *a, uint64_t *result) except -1:
    cdef TaskCore t = task
    cdef PipeEndCore f
    cdef Pipe p
    cdef uint64_t count = a[2]
    cdef Py_ssize_t n, l1
    cdef char *s1
    cdef char *s2
    f = _pipe_end(t, a[0])
    if f is None or f.is_writer or count == 0:
        return FAST_PASS
    p = f.pipe
    if p.count == 0:
        if p.writers == 0:
            result[0] = 0                   # end of file
            return FAST_DONE
        if f.flags & O_NONBLOCK:
            result[0] = <uint64_t>(-EAGAIN)
            return FAST_DONE
        # Park on the pipe until a writer wakes it (Scheduler.block, no
        # deadline, no host fds); the SVC runs again then.
        p.waiters.append(t)
        t.state = BLOCKED
        t.wait_fds = []
        return FAST_BLOCK
    if count > MAX_RW:
        count = MAX_RW
    n = p.data_segments(&s1, &l1, &s2)
    if <uint64_t>n > count:
        n = <Py_ssize_t>count
    if _copy(t, a[1], s1, l1, s2, n, True):
        return FAST_PASS                    # the bytes stay in the pipe
    p.consume(n)
    p.wake_all()                            # writers waiting for room
    result[0] = <uint64_t>n
    return FAST_DONE


cdef int fast_write(object task, uint64_t *a, uint64_t *result) except -1:
    cdef TaskCore t = task
    cdef PipeEndCore f
    cdef Pipe p
    cdef uint64_t count = a[2]
    cdef Py_ssize_t room, l1
    cdef char *s1
    cdef char *s2
    f = _pipe_end(t, a[0])
    if f is None or not f.is_writer or count == 0 or t.partial_write is not None:
        return FAST_PASS
    p = f.pipe
    if p.readers == 0 or count > <uint64_t>(p.cap - p.count):
        return FAST_PASS                    # EPIPE, or a write that must wait
    p.reserve()
    room = p.room_segments(&s1, &l1, &s2)
    if _copy(t, a[1], s1, l1, s2, <Py_ssize_t>count, False):
        return FAST_PASS                    # nothing committed
    p.commit(<Py_ssize_t>count)
    p.wake_all()                            # readers and pollers
    result[0] = count
    return FAST_DONE


def install(Cpu cpu, pipe_end_type):
    """Put the fast handlers in front of the Python table of ``cpu``."""
    global _pipe_end_type
    _pipe_end_type = pipe_end_type
    cpu.fast[NR_READ] = fast_read
    cpu.fast[NR_WRITE] = fast_write
