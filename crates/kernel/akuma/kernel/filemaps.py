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
    cache = mapped_files.get(key)
    if cache is None:
        def store(index, data):
            f.pwrite(data, index * PAGE_SIZE)
        cache = PageCache(kernel.frames, kernel.frames.ram_view(), _loader(f), store, _size(f))
        cache.on_unused = lambda: mapped_files.pop(key, None)
        mapped_files[key] = cache
    return cache


def file_mapping(kernel, f, shared):
    """A FileMapping of the open file ``f`` (holding a reference to it)."""
    st = f.stat()
    cache = shared_cache(kernel, f) if shared else _existing_cache(f)
    return FileMapping(shared, cache, _loader(f), _size(f), ident=(st.dev, st.ino),
                       on_release=_take_ref(f))


def _existing_cache(f):
    own = getattr(f.inode, "pages", None)
    return own if own is not None else mapped_files.get(f.inode.key)
