"""A program file being executed: open, with only its head read.  The
loader parses the head and maps the rest (see load_image's ``mapping``)."""
import struct

HEAD = 4096
MAX_HEAD = 512 * 56 + (1 << 16)     # program headers are few and near the start


class ProgramFile:
    def __init__(self, f, size):
        self.file = f                   # the open file (pread, stat)
        f.refs = getattr(f, "refs", 0) + 1      # the loader's reference
        self.size = size
        self.head = f.pread(HEAD, 0)
        if len(self.head) >= 64 and self.head[:4] == b"\x7fELF":
            phoff, = struct.unpack_from("<Q", self.head, 32)
            phentsize, phnum = struct.unpack_from("<HH", self.head, 54)
            need = phoff + phentsize * phnum
            if len(self.head) < need <= MAX_HEAD:
                self.head = self.read(0, need)
        self._closed = False

    def read(self, off, n):
        """``n`` bytes at ``off`` (shorter at EOF)."""
        chunks = []
        while n > 0:
            data = self.file.pread(min(n, 1 << 24), off)
            if not data:
                break
            chunks.append(data)
            off += len(data)
            n -= len(data)
        return b"".join(chunks)

    def close(self):
        """Drop the loader's use; mappings of the file keep it open."""
        if not self._closed:
            self._closed = True
            f = self.file
            f.refs -= 1
            if f.refs <= 0:
                f.close()
