"""SSH wire encodings (RFC 4251 §5): a bounds-checked reader whose every
malformation becomes a PROTOCOL_ERROR disconnect, and writers."""
import struct

from .errors import protocol_error

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class Reader:
    """Reads one message; reading past the end raises DisconnectError."""

    __slots__ = ("data", "pos")

    def __init__(self, data, pos=0):
        self.data = bytes(data)
        self.pos = pos

    def _take(self, n):
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise protocol_error("truncated message")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def byte(self):
        if self.pos >= len(self.data):
            raise protocol_error("truncated message")
        self.pos += 1
        return self.data[self.pos - 1]

    def boolean(self):
        return self.byte() != 0

    def u32(self):
        return _U32.unpack(self._take(4))[0]

    def u64(self):
        return _U64.unpack(self._take(8))[0]

    def string(self):
        return self._take(self.u32())

    def text(self):
        try:
            return self.string().decode("utf-8")
        except UnicodeDecodeError:
            raise protocol_error("string is not UTF-8") from None

    def name_list(self):
        raw = self.string()
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise protocol_error("name-list is not ASCII") from None
        return text.split(",") if text else []

    def mpint(self):
        return int.from_bytes(self.string(), "big", signed=True)

    def rest(self):
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk

    def at_end(self):
        return self.pos == len(self.data)


def byte(n):
    return bytes((n,))


def boolean(flag):
    return b"\x01" if flag else b"\x00"


def u32(n):
    return _U32.pack(n)


def u64(n):
    return _U64.pack(n)


def string(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _U32.pack(len(data)) + data


def name_list(names):
    return string(",".join(names).encode("ascii"))


def mpint(n):
    if n == 0:
        return _U32.pack(0)
    length = (n.bit_length() + 8) // 8   # room for the sign bit
    return string(n.to_bytes(length, "big", signed=True))


def mpint_from_unsigned(raw):
    """An unsigned big-endian byte string (e.g. an X25519 secret) as mpint."""
    return mpint(int.from_bytes(raw, "big"))
