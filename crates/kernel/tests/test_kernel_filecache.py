"""The file cache behind private mappings: a program's pages stay cached
after it exits and the next run maps the same frames; a file rewritten in
place or truncated and rewritten runs its new code (no stale page, no
stale translated block); cached pages that no one maps give way when
frames run out."""
import io
import os

from akuma.abi import fcntl as F
from akuma.kernel import Kernel
from akuma.kernel.filemaps import cached_pages
from akuma.mm import OutOfMemory
from akuma.vfs import HostStream, Vfs

from test_kernel_run import _binary

SIZE = 2 << 20              # over EAGER_LOAD_MAX: the program is mapped, not read


def _padded(name):
    """A guest program with zeros appended (the loader ignores them) so
    it is mapped from the file."""
    data = _binary(name)
    assert len(data) < SIZE
    return data + bytes(SIZE - len(data))


def _write(vfs, data, flags=F.O_CREAT | F.O_WRONLY | F.O_TRUNC):
    f = vfs.open(b"/bin/prog", flags, 0o755, umask=0)
    f.write(data)
    f.close()


def _run(kernel, *args):
    r, w = os.pipe()
    files = [HostStream(os.open(os.devnull, os.O_RDONLY), b"/dev/stdin"),
             HostStream(w, b"/dev/stdout"), HostStream(os.dup(w), b"/dev/stderr")]
    proc = kernel.spawn(b"/bin/prog", [b"/bin/prog", *args], [], files=files)
    status = kernel.run(until=proc)
    with os.fdopen(r, "rb") as rf:
        return status, rf.read()


def _kernel(data, mem=64 << 20):
    vfs = Vfs()
    vfs.mkdir(b"/bin")
    _write(vfs, data)
    return vfs, Kernel(vfs, mem=mem, log=io.StringIO())


def test_pages_stay_cached_and_the_next_run_reuses_them():
    vfs, k = _kernel(_padded("hello"))
    assert _run(k) == (0, b"hello, world\n")
    cached = cached_pages(k)
    assert cached > 0
    free = k.frames.free
    assert _run(k) == (0, b"hello, world\n")
    assert cached_pages(k) == cached           # nothing read again
    assert k.frames.free == free               # and nothing left behind


def test_a_program_rewritten_in_place_runs_its_new_code():
    hello, exitcode = _padded("hello"), _padded("exitcode")
    vfs, k = _kernel(hello)
    assert _run(k) == (0, b"hello, world\n")
    _write(vfs, exitcode, F.O_WRONLY)          # same length, no truncation
    status, out = _run(k, b"7")
    assert (status >> 8, out) == (7, b"")
    _write(vfs, hello)                         # O_TRUNC, then the old program again
    assert _run(k) == (0, b"hello, world\n")


def test_cached_pages_give_way_when_frames_run_out():
    vfs, k = _kernel(_padded("hello"), mem=16 << 20)
    assert _run(k)[0] == 0
    cached = cached_pages(k)
    assert cached > 0
    taken = []
    try:
        while True:
            taken.append(k.frames.alloc())
    except OutOfMemory:
        pass
    assert cached_pages(k) == 0                # every clean, unmapped page went
    for pa in taken:
        k.frames.put(pa)
    assert _run(k) == (0, b"hello, world\n")   # and it reads them again


def test_unmounting_a_filesystem_drops_its_cached_pages():
    from akuma.kernel.filemaps import forget_fs
    vfs, k = _kernel(_padded("hello"))
    free = k.frames.free
    assert _run(k)[0] == 0
    cached = cached_pages(k)
    assert cached > 0 and k.frames.free == free - cached
    forget_fs(k, vfs.root_mount.fs)
    assert cached_pages(k) == 0 and k.frames.free == free
    assert _run(k) == (0, b"hello, world\n")
