"""IPv4 fragment reassembly (RFC 791, with RFC 5722-style overlap refusal):
bounded in count and size, timed out after 30 s."""
REASM_TIMEOUT = 30.0
MAX_PENDING = 64
MAX_DATAGRAM = 65535


class _Pending:
    __slots__ = ("pieces", "total", "first", "created")

    def __init__(self, now):
        self.pieces = {}         # offset -> bytes
        self.total = None
        self.first = None        # the offset-0 fragment's IPv4 record
        self.created = now


class Reassembler:
    def __init__(self, clock, stats):
        self.clock = clock
        self.stats = stats
        self.pending = {}

    def add(self, ip):
        """The whole payload once ``ip`` completes its datagram, else None."""
        now = self.clock()
        self.expire(now)
        key = (ip.src, ip.dst, ip.proto, ip.ident)
        self.stats.inc("Ip", "ReasmReqds")
        p = self.pending.get(key)
        if p is None:
            if len(self.pending) >= MAX_PENDING:
                self.stats.inc("Ip", "ReasmFails")
                return None
            p = self.pending[key] = _Pending(now)
        start, data = ip.frag_off, bytes(ip.payload)
        end = start + len(data)
        if end > MAX_DATAGRAM or (ip.more_fragments and len(data) % 8):
            return self._fail(key)
        for off, piece in p.pieces.items():
            if start < off + len(piece) and off < end and (off, len(piece)) != (start, len(data)):
                return self._fail(key)       # overlap: drop the whole datagram
        if not ip.more_fragments:
            if p.total is not None and p.total != end:
                return self._fail(key)
            p.total = end
        p.pieces[start] = data
        if start == 0:
            p.first = ip
        if p.total is None or p.first is None:
            return None
        have = 0
        for off in sorted(p.pieces):
            if off != have:
                return None
            have += len(p.pieces[off])
        if have != p.total:
            return None
        del self.pending[key]
        self.stats.inc("Ip", "ReasmOKs")
        return b"".join(p.pieces[off] for off in sorted(p.pieces))

    def _fail(self, key):
        self.pending.pop(key, None)
        self.stats.drop("ip_reasm")
        return None

    def expire(self, now):
        for key in [k for k, p in self.pending.items() if now - p.created > REASM_TIMEOUT]:
            del self.pending[key]
            self.stats.inc("Ip", "ReasmTimeout")
            self.stats.inc("Ip", "ReasmFails")
