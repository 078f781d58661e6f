# cython: boundscheck=False, wraparound=False
"""The Internet checksum (RFC 1071) in C: a ones'-complement sum of 16-bit
big-endian words, folded.  ``csum_partial`` accumulates over any buffer
(bytes, bytearray, memoryview) so headers and payloads are summed where they
lie, without joining them first."""
from libc.stdint cimport uint8_t, uint32_t, uint64_t


cdef uint64_t _sum(const uint8_t[::1] buf, Py_ssize_t n) nogil:
    cdef uint64_t acc = 0
    cdef Py_ssize_t i = 0
    # 4 bytes at a time into a 64-bit accumulator: no carry handling in the loop.
    while i + 4 <= n:
        acc += (<uint64_t>buf[i] << 24) | (<uint64_t>buf[i + 1] << 16) | \
               (<uint64_t>buf[i + 2] << 8) | buf[i + 3]
        i += 4
    while i + 2 <= n:
        acc += (<uint64_t>buf[i] << 8) | buf[i + 1]
        i += 2
    if i < n:
        acc += <uint64_t>buf[i] << 8
    return acc


cdef inline uint32_t _fold(uint64_t acc) nogil:
    cdef uint64_t lo32 = 0xFFFF
    lo32 = (lo32 << 16) | lo32
    acc = (acc & lo32) + (acc >> 32)
    acc = (acc & lo32) + (acc >> 32)
    acc = (acc & 0xFFFF) + (acc >> 16)
    acc = (acc & 0xFFFF) + (acc >> 16)
    acc = (acc & 0xFFFF) + (acc >> 16)
    return <uint32_t>acc


def csum_partial(buf, unsigned long long acc=0):
    """``acc`` plus the 16-bit word sum of ``buf``, folded to 16 bits.  An
    odd-length ``buf`` is padded with a zero byte (so only the last part of a
    sum may have odd length)."""
    cdef const uint8_t[::1] view
    cdef Py_ssize_t n = len(buf)
    if n == 0:
        return _fold(acc)
    view = buf
    with nogil:
        acc = _fold(acc + _sum(view, n))
    return acc


def checksum(*parts):
    """The finished Internet checksum (complemented) of ``parts`` summed in
    order; every part but the last must have even length."""
    cdef unsigned long long acc = 0
    for p in parts:
        acc = csum_partial(p, acc)
    return (~acc) & 0xFFFF


def pseudo_header_sum(bytes src, bytes dst, int proto, Py_ssize_t length):
    """The folded sum of the IPv4 pseudo-header (RFC 793/768) for a transport
    checksum: src, dst, zero, protocol, transport length."""
    cdef unsigned long long acc = 0
    acc = csum_partial(src, acc)
    acc = csum_partial(dst, acc)
    return _fold(acc + <unsigned int>proto + <unsigned long long>length)
