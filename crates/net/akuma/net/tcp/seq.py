"""Sequence-number arithmetic modulo 2**32 (RFC 9293 3.4)."""
MASK = 0xFFFFFFFF


def add(a, n):
    return (a + n) & MASK


def diff(a, b):
    """a - b as a signed distance."""
    d = (a - b) & MASK
    return d - 0x100000000 if d & 0x80000000 else d


def lt(a, b):
    return diff(a, b) < 0


def le(a, b):
    return diff(a, b) <= 0


def gt(a, b):
    return diff(a, b) > 0


def ge(a, b):
    return diff(a, b) >= 0
