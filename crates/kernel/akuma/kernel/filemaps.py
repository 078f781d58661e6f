"""The FileMapping behind a file VMA: mmap(2) of a guest file, ELF segments.

A mapping keeps its open file (a reference like a descriptor's, dropped
when the last VMA using it goes).  MAP_SHARED mappings of one file share a
PageCache registered in the VFS's ``mapped_files`` so that read/write(2)
and the mappings agree; a memfd brings its own (its frames are the file)."""
from akuma.mm import PageCache, FileMapping, PAGE_SIZE
from akuma.vfs.openfile import mapped_files


def _take_ref(f):
    f.refs = getattr(f, "refs", 0) + 1

    def drop():
        from akuma.kernel.fdtable import _drop
        _drop(f)
    return drop


def _loader(f):
    def load(index):
        return f.pread(PAGE_SIZE, index * PAGE_SIZE)
    return load


def _size(f):
    return lambda: f.stat().size


def shared_cache(kernel, f):
    """The page cache of ``f``'s file, created on its first shared mapping."""
    own = getattr(f.inode, "pages", None)
    if own is not None:
        return own                  # memfd: the frames are the file
    key = f.inode.key

    def store(index, data):
        f.pwrite(data, index * PAGE_SIZE)
    cache = _registered(f)
    if cache is None:
        cache = PageCache(kernel.frames, kernel.frames.ram_view(), _loader(f), store, _size(f))
        _register(key, cache, f.inode)
    elif cache.store is None:
        cache.store = store         # made by a private mapping: now it writes back
    kernel.file_caches.pop(key, None)   # a shared cache is released at its last unmap
    return cache


def _registered(f):
    """The cache registered for ``f``'s inode, if it is still that inode's
    (an ext2 inode number is reused after a delete: the object is new)."""
    cache = mapped_files.get(f.inode.key)
    if cache is not None and getattr(cache, "inode", f.inode) is not f.inode:
        cache.release()
        mapped_files.pop(f.inode.key, None)
        cache = None
    return cache


def _register(key, cache, inode, kernel=None):
    """Make ``cache`` the one read/write(2) keep coherent; a private cache
    is also held by the kernel (mapped_files is weak), so it outlives the
    processes and goes with the kernel."""
    if kernel is not None:
        cache.inode = inode         # identity check in _registered (ext2, memfs)
    cache.on_unused = lambda: mapped_files.get(key) is cache and mapped_files.pop(key)
    mapped_files[key] = cache
    if kernel is not None:
        kernel.file_caches[key] = cache


def private_cache(kernel, f):
    """The page cache private mappings read through: the file's pages stay
    cached after the last process exits, so the next exec of a program maps
    the same frames (no read, no copy) and unicorn reuses their translated
    code.  Only for files whose bytes live in their inode (ext2, memfs): a
    hostfs file can change behind our back.  Clean pages no one maps are
    reclaimed when frames run out (``reclaim``)."""
    inode = f.inode
    own = getattr(inode, "pages", None)
    if own is not None:
        return own                  # memfd
    cache = _registered(f)
    if cache is None and hasattr(inode, "read_at"):
        def load(index):
            return inode.read_at(PAGE_SIZE, index * PAGE_SIZE)
        cache = PageCache(kernel.frames, kernel.frames.ram_view(), load, None,
                          lambda: inode.size)
        _register(inode.key, cache, inode, kernel)
    return cache


def reclaim(kernel):
    """Frames are short: free the clean cached file pages nobody maps.
    True if any were freed."""
    freed = 0
    for cache in list(kernel.file_caches.values()):
        freed += cache.reclaim()
    return freed > 0


def cached_pages(kernel):
    """Frames the kernel's file caches hold (/proc/meminfo's Cached)."""
    return sum(len(c.pages) for c in kernel.file_caches.values())


def file_mapping(kernel, f, shared):
    """A FileMapping of the open file ``f`` (holding a reference to it)."""
    st = f.stat()
    cache = shared_cache(kernel, f) if shared else private_cache(kernel, f)
    return FileMapping(shared, cache, _loader(f), _size(f), ident=(st.dev, st.ino),
                       on_release=_take_ref(f))


def forget_fs(kernel, fs):
    """``fs`` was unmounted: its cached file pages go (a later mount of the
    same image is a new filesystem object, so they could never be reused)."""
    for key in [k for k in kernel.file_caches if k[0] is fs]:
        kernel.file_caches.pop(key).release()
