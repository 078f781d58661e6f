"""File-backed memory: the page cache of a file and the pager that serves
faults in file mappings.

A ``PageCache`` holds frames with one file's pages (one reference each).
Every MAP_SHARED mapping of the file maps those frames, so processes see
each other's stores; read/write(2) stay coherent through ``before_io`` /
``after_write`` (the VFS calls them for files listed in its
``mapped_files``).  A memfd keeps its bytes only here (no ``store``).

MAP_PRIVATE mappings are demand-paged: a fault copies the page from the
file (or maps the cached frame copy-on-write when the file has a cache);
nothing is read at mmap time.

The kernel holds no frame of a file longer than its mappings need: a
regular file's cache is written back and dropped when its last shared
mapping goes (``AddressSpace`` calls ``release_if_unmapped``)."""
import weakref

PAGE = 4096


class PastEof(Exception):
    """A mapped page lies wholly past the end of the file (SIGBUS)."""


class PageCache:
    """Frames of one file's pages, by page index.

    ``load(index)`` returns the page's bytes from the file (short or empty
    past EOF); ``store(index, data)`` writes them back.  Both None for a
    memfd, whose frames are the only copy (a missing page is zeros)."""

    def __init__(self, frames, ram, load=None, store=None, size=None):
        self.frames = frames
        self.ram = ram                  # memoryview of physical RAM
        self.pages = {}                 # index -> paddr
        self.dirty = set()              # indices mapped writable (stores are invisible)
        self.load = load
        self.store = store
        self.size = size                # () -> current file size
        self.mappers = weakref.WeakSet()    # address spaces with a shared mapping
        self.busy = False               # inside our own I/O (no re-entry)
        self.on_unused = None           # called once released (unregister it)

    # -- frames -------------------------------------------------------------------
    def frame(self, index):
        """The frame of page ``index``, read in from the file on first use."""
        pa = self.pages.get(index)
        if pa is None:
            pa = self.frames.alloc()
            if self.load is not None:
                data = self._load(index)
                self.ram[pa:pa + len(data)] = data
            self.pages[index] = pa
        return pa

    def _load(self, index):
        self.busy = True
        try:
            return self.load(index)
        finally:
            self.busy = False

    def writeback(self, first=0, last=None):
        """Write dirty pages in [first, last] back to the file."""
        if self.store is None:
            return
        size = self.size()
        todo = sorted(i for i in self.dirty if i >= first and (last is None or i <= last))
        self.busy = True
        try:
            for i in todo:
                pa = self.pages.get(i)
                n = min(PAGE, size - i * PAGE)
                if pa is not None and n > 0:
                    self.store(i, bytes(self.ram[pa:pa + n]))
        finally:
            self.busy = False

    def shrink(self, size):
        """The file became ``size`` bytes: pages wholly past it leave every
        shared mapping (the next access there is SIGBUS) and the cache, and
        the tail of the last page reads as zeros, as on Linux."""
        from akuma.mm.vma import drop_file_pages       # (vma imports this module)
        first = (size + PAGE - 1) // PAGE
        drop_file_pages(self, first)
        self.drop_from(first)
        self.zero_tail(size)

    def drop_from(self, index):
        """Forget pages at and after ``index`` (truncation, release)."""
        for i in [i for i in self.pages if i >= index]:
            self.frames.put(self.pages.pop(i))
            self.dirty.discard(i)

    # -- read/write(2) coherence (regular files) --------------------------------
    def _indices(self, off, n):
        return range(off // PAGE, (off + n + PAGE - 1) // PAGE)

    def before_io(self, off, n):
        """A read or write of [off, off+n) goes to the file: put the mapped
        bytes there first."""
        if self.busy or n <= 0 or not self.dirty:
            return
        r = self._indices(off, n)
        self.writeback(r.start, r.stop - 1)

    def after_write(self, off, n):
        """The file changed in [off, off+n): refresh the cached pages."""
        if self.busy or n <= 0:
            return
        for i in self._indices(off, n):
            pa = self.pages.get(i)
            if pa is not None:
                data = self._load(i)
                self.ram[pa:pa + len(data)] = data
                self.ram[pa + len(data):pa + PAGE] = bytes(PAGE - len(data))
                self.frames.rewritten(pa)       # programs may run from it

    def reclaim(self):
        """Give back the clean pages only this cache holds (memory is short);
        the number freed."""
        freed = 0
        for i, pa in list(self.pages.items()):
            if i not in self.dirty and self.frames.refcount(pa) == 1:
                del self.pages[i]
                self.frames.put(pa)
                freed += 1
        return freed

    # -- memfd storage: the frames are the file ----------------------------------
    def read(self, off, n, size):
        """Bytes [off, off+n) of a file of ``size`` bytes kept only here."""
        n = max(0, min(n, size - off))
        out = bytearray(n)
        self.readinto([memoryview(out)], off, size)
        return bytes(out)

    def readinto(self, views, off, size):
        total = 0
        for v in views:
            v = v.cast("B") if isinstance(v, memoryview) and v.format != "B" else v
            want = max(0, min(len(v), size - off))
            done = 0
            while done < want:
                i, o = divmod(off + done, PAGE)
                k = min(PAGE - o, want - done)
                pa = self.pages.get(i)
                if pa is None:
                    v[done:done + k] = bytes(k)
                else:
                    v[done:done + k] = self.ram[pa + o:pa + o + k]
                done += k
            total += done
            off += done
            if done < len(v):
                break
        return total

    def write(self, data, off):
        src = memoryview(data).cast("B")
        done, n = 0, len(src)
        while done < n:
            i, o = divmod(off + done, PAGE)
            k = min(PAGE - o, n - done)
            pa = self.frame(i)
            self.ram[pa + o:pa + o + k] = src[done:done + k]
            self.frames.rewritten(pa)       # a memfd's code may run from it
            done += k
        return n

    def zero_tail(self, size):
        """Zero the cached bytes past ``size`` in its last page (shrink)."""
        pa = self.pages.get(size // PAGE)
        if pa is not None and size % PAGE:
            o = size % PAGE
            self.ram[pa + o:pa + PAGE] = bytes(PAGE - o)

    def release(self):
        self.writeback()
        self.drop_from(0)


class FileMapping:
    """What a file VMA maps: a file and, for MAP_SHARED, its page cache.

    ``cache`` may be None for a private mapping of a file no one maps
    shared; pages are then copied from ``load`` at fault time."""

    def __init__(self, shared, cache, load, size, ident=None, on_release=None):
        self.shared = shared
        self.cache = cache
        self.load = load              # (index) -> bytes
        self.size = size              # () -> file size
        self.ident = ident            # (dev, ino) for /proc/<pid>/maps
        if on_release is not None:
            # The file stays open while some VMA maps it.
            weakref.finalize(self, on_release)

    def page_in(self, aspace, va, index, prot, write, limit=None):
        """Map file page ``index`` at ``va``.  ``limit``: file bytes past
        this offset read as zeros (an ELF segment's filesz)."""
        if index * PAGE >= self.size():
            raise PastEof()
        pt, frames = aspace.pt, aspace.frames
        if self.shared:
            pa = self.cache.frame(index)
            if write or prot & 2:
                self.cache.dirty.add(index)
            pt.install(va, pa, prot, True, False)
            return
        clip = limit is not None and (index + 1) * PAGE > limit
        cache = self.cache
        if cache is not None and not clip:
            # The file's cached page, copied on the first write: every
            # process running a program shares its text, and unicorn's
            # translated blocks (keyed by physical page) with it.
            pt.install(va, cache.frame(index), prot, False, True)
            return
        pa = frames.alloc()
        try:
            data = self.load(index)
            if clip:
                data = data[:max(0, limit - index * PAGE)]
            aspace.ram[pa:pa + len(data)] = data
            pt.install(va, pa, prot, False, False)
        finally:
            frames.put(pa)      # the page table holds the reference now
