"""Copying an image file without filling its holes (a 1 GiB image with
300 MB of data copies 300 MB).  copy_file_range lets the host filesystem
share extents (reflink) where it can."""
import errno
import os


def copy_sparse(src, dst):
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        size = os.fstat(fi.fileno()).st_size
        fo.truncate(size)
        fdi, fdo = fi.fileno(), fo.fileno()
        for start, end in _data_ranges(fdi, size):
            _copy_range(fdi, fdo, start, end)


def _data_ranges(fd, size):
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as e:
            if e.errno == errno.ENXIO:      # only a hole is left
                return
            yield pos, size                 # no SEEK_DATA: copy everything
            return
        end = os.lseek(fd, start, os.SEEK_HOLE)
        yield start, end
        pos = end


def _copy_range(fdi, fdo, start, end):
    off = start
    while off < end:
        try:
            n = os.copy_file_range(fdi, fdo, end - off, off, off)
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            n = _copy_plain(fdi, fdo, off, min(end, off + (8 << 20)))
        if n == 0:
            break
        off += n


def _copy_plain(fdi, fdo, off, end):
    data = os.pread(fdi, end - off, off)
    os.pwrite(fdo, data, off)
    return len(data)
