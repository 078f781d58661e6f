"""struct linux_dirent64 and the DT_* entry types."""
import struct

DT_UNKNOWN, DT_FIFO, DT_CHR, DT_DIR, DT_BLK, DT_REG, DT_LNK, DT_SOCK = 0, 1, 2, 4, 6, 8, 10, 12

# u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, then the NUL-terminated name.
_HEAD = struct.Struct("<QqHB")


def dtype_of(mode):
    """DT_* of an inode mode: Linux defines DT_x as S_IFx >> 12."""
    return (mode >> 12) & 0xF


def pack_dirents(entries, bufsize, base_off=0):
    """Pack ``(ino, type, name)`` entries into linux_dirent64 records.

    Stops before ``bufsize`` would overflow; returns ``(data, count)``.  d_off
    of the i-th record is ``base_off + i + 1``: the position to resume at (the
    directory file's position counts entries).  The caller returns EINVAL when
    entries remain and count is 0."""
    out = bytearray()
    n = 0
    for ino, typ, name in entries:
        reclen = (_HEAD.size + len(name) + 1 + 7) & ~7
        if len(out) + reclen > bufsize:
            break
        out += _HEAD.pack(ino & 0xFFFFFFFFFFFFFFFF, base_off + n + 1, reclen, typ)
        out += name
        out += bytes(reclen - _HEAD.size - len(name))
        n += 1
    return bytes(out), n
