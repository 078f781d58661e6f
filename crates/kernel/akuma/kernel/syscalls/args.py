"""Argument helpers: raw 64-bit register values to the C types handlers
mean (xv6's argint/argaddr/argstr, by another name)."""
from akuma.abi import KernelError
from akuma.abi.errors import EFAULT, ENAMETOOLONG
from akuma.mm import EFault

PATH_MAX = 4096


def s32(v):
    """An int argument (fd, flags) as the callee sees it."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def s64(v):
    return v - (1 << 64) if v & (1 << 63) else v


def path_arg(t, addr):
    """A NUL-terminated path from user memory (EFAULT, ENAMETOOLONG)."""
    try:
        p = t.process.aspace.read_cstr(addr, PATH_MAX - 1)   # PATH_MAX counts the NUL
    except EFault:
        raise KernelError(EFAULT) from None
    if p is None:
        raise KernelError(ENAMETOOLONG)
    return p


def read_user(t, addr, n):
    try:
        return t.process.aspace.read(addr, n)
    except EFault:
        raise KernelError(EFAULT) from None


def write_user(t, addr, data):
    try:
        t.process.aspace.write(addr, data)
    except EFault:
        raise KernelError(EFAULT) from None
