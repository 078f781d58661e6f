# cython: language_level=3, boundscheck=False, wraparound=False
"""The binary packet protocol (RFC 4253 §6) for one direction each:
framing, padding, sequence numbers, and the per-packet cipher/MAC work.

Modes: none (before the first NEWKEYS); aes{128,256}-ctr with
hmac-sha2-{256,512} or their encrypt-then-MAC (-etm@openssh.com) forms;
aes{128,256}-gcm@openssh.com (RFC 5647 with OpenSSH's names); and
chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305).  The
primitives are pycryptodome's / hashlib's C code; this module keeps the
per-packet glue out of the interpreter loop and compares MACs in constant
time.  Errors are DisconnectError with the reason the peer should see.
"""
import hmac as _hmac
import os

from Crypto.Cipher import AES, ChaCha20
from Crypto.Hash.Poly1305 import Poly1305_MAC

from .errors import DisconnectError, MAC_ERROR, PROTOCOL_ERROR

# OpenSSH's PACKET_MAX_SIZE: anything longer is hostile or broken.
MAX_PACKET_LENGTH = 256 * 1024

CIPHERS = {
    # name: (key length, iv length, block size)
    "chacha20-poly1305@openssh.com": (64, 0, 8),
    "aes128-gcm@openssh.com": (16, 12, 16),
    "aes256-gcm@openssh.com": (32, 12, 16),
    "aes128-ctr": (16, 16, 16),
    "aes256-ctr": (32, 16, 16),
}
AEAD_CIPHERS = frozenset(("chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com",
                          "aes256-gcm@openssh.com"))
MACS = {
    # name: (hash name, key/digest length, encrypt-then-MAC)
    "hmac-sha2-256-etm@openssh.com": ("sha256", 32, True),
    "hmac-sha2-512-etm@openssh.com": ("sha512", 64, True),
    "hmac-sha2-256": ("sha256", 32, False),
    "hmac-sha2-512": ("sha512", 64, False),
}

cdef enum Mode:
    NONE = 0
    CTR = 1
    GCM = 2
    CHACHA = 3

cdef bytes ZERO64 = bytes(64)


cpdef bint constant_time_equal(bytes a, bytes b):
    """Compare MACs without an early exit that would leak timing."""
    cdef Py_ssize_t n = len(a), i
    cdef const unsigned char* pa = a
    cdef const unsigned char* pb = b
    cdef unsigned char acc = 0
    if n != len(b):
        return False
    for i in range(n):
        acc |= pa[i] ^ pb[i]
    return acc == 0


cdef inline bytes _u32(unsigned long v):
    return bytes(((v >> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff))


cdef inline bytes _u64(unsigned long long v):
    return (v).to_bytes(8, "big")


cdef inline unsigned long _read_u32(const unsigned char* p):
    return ((<unsigned long>p[0] << 24) | (<unsigned long>p[1] << 16)
            | (<unsigned long>p[2] << 8) | <unsigned long>p[3])


cdef class _Keys:
    """Cipher and MAC state shared by both directions' classes."""
    cdef public unsigned long seq          # 32-bit sequence number
    cdef public unsigned long long byte_count   # bytes since the last key change
    cdef public unsigned long long packets
    cdef Mode mode
    cdef int block
    cdef bint etm
    cdef int mac_len
    cdef object cipher       # AES-CTR stream object
    cdef object mac_template # hmac object keyed once; .copy() per packet
    cdef bytes key, key_len_field, gcm_fixed
    cdef unsigned long long gcm_counter
    cdef public str cipher_name, mac_name

    def __cinit__(self):
        self.mode = NONE
        self.block = 8
        self.cipher_name = "none"
        self.mac_name = "none"

    def set_keys(self, str cipher_name, bytes key, bytes iv, str mac_name=None, bytes mac_key=None):
        """Switch to new keys (after NEWKEYS); counters restart."""
        key_len, iv_len, block = CIPHERS[cipher_name]
        if len(key) < key_len or len(iv) < iv_len:
            raise ValueError("short key material")
        key = key[:key_len]
        self.block = block
        self.cipher_name = cipher_name
        self.byte_count = 0
        self.packets = 0
        self.etm = False
        self.mac_len = 16
        self.mac_name = "<implicit>"
        if cipher_name.startswith("chacha20"):
            self.mode = CHACHA
            self.key = key[:32]            # K_2: payload and Poly1305 key
            self.key_len_field = key[32:]  # K_1: the length field
        elif cipher_name.endswith("gcm@openssh.com"):
            self.mode = GCM
            self.key = key
            self.gcm_fixed = iv[:4]
            self.gcm_counter = int.from_bytes(iv[4:12], "big")
        else:
            self.mode = CTR
            self.cipher = AES.new(key, AES.MODE_CTR, nonce=b"", initial_value=iv[:16])
            hash_name, mac_len, etm = MACS[mac_name]
            self.mac_template = _hmac.new(mac_key[:mac_len], digestmod=hash_name)
            self.mac_len = mac_len
            self.etm = etm
            self.mac_name = mac_name

    def reset_sequence(self):
        """Strict KEX (kex-strict-*-v00@openssh.com): seq restarts at NEWKEYS."""
        self.seq = 0

    cdef inline bytes _mac(self, bytes data):
        m = self.mac_template.copy()
        m.update(_u32(self.seq))
        m.update(data)
        return m.digest()

    cdef inline void _advance(self, Py_ssize_t wire_len):
        self.seq = (self.seq + 1) & 0xffffffff
        self.byte_count += wire_len
        self.packets += 1

    cdef inline bytes _gcm_nonce(self):
        nonce = self.gcm_fixed + _u64(self.gcm_counter)
        self.gcm_counter = (self.gcm_counter + 1) & 0xffffffffffffffff
        return nonce


cdef class Encoder(_Keys):
    """Frames and protects outgoing payloads."""

    def encode(self, payload):
        cdef bytes body, out, pkt, ct, tag, nonce, lenc
        cdef Py_ssize_t plen = len(payload)
        cdef int block = self.block
        cdef Py_ssize_t base = 1 + plen if (self.etm or self.mode == GCM or self.mode == CHACHA) else 5 + plen
        cdef int pad = block - (base % block)
        if pad < 4:
            pad += block
        cdef unsigned long packet_length = 1 + plen + pad
        padding = bytes(pad) if self.mode == NONE else os.urandom(pad)
        body = bytes((pad,)) + bytes(payload) + padding
        length = _u32(packet_length)
        if self.mode == NONE:
            out = length + body
        elif self.mode == CTR:
            if self.etm:
                pkt = length + self.cipher.encrypt(body)
                out = pkt + self._mac(pkt)
            else:
                pkt = length + body
                out = self.cipher.encrypt(pkt) + self._mac(pkt)
        elif self.mode == GCM:
            c = AES.new(self.key, AES.MODE_GCM, nonce=self._gcm_nonce(), mac_len=16)
            c.update(length)
            ct, tag = c.encrypt_and_digest(body)
            out = length + ct + tag
        else:
            nonce = _u64(self.seq)
            lenc = ChaCha20.new(key=self.key_len_field, nonce=nonce).encrypt(length)
            main = ChaCha20.new(key=self.key, nonce=nonce)
            poly_key = main.encrypt(ZERO64)   # block 0 keys Poly1305; payload from block 1
            ct = main.encrypt(body)
            tag = Poly1305_MAC(poly_key[:16], poly_key[16:32], lenc + ct).digest()
            out = lenc + ct + tag
        self._advance(len(out))
        return out


cdef class Decoder(_Keys):
    """Reassembles, checks and decrypts incoming packets from a byte stream."""
    cdef bytearray buf
    cdef long pending_len        # packet_length of the packet being read, -1 if unknown
    cdef bytes first_block       # CTR without EtM: the block already decrypted

    def __cinit__(self):
        self.buf = bytearray()
        self.pending_len = -1

    def feed(self, data):
        self.buf += data

    @property
    def buffered(self):
        return len(self.buf)

    cdef long _length(self) except -2:
        """packet_length of the next packet, or -1 if not enough bytes yet."""
        cdef const unsigned char* p
        cdef long plen
        cdef int need = self.block if (self.mode == CTR and not self.etm) or self.mode == NONE else 4
        if self.pending_len >= 0:
            return self.pending_len
        if len(self.buf) < need:
            return -1
        if self.mode == CHACHA:
            header = ChaCha20.new(key=self.key_len_field, nonce=_u64(self.seq)).decrypt(bytes(self.buf[:4]))
        elif self.mode == CTR and not self.etm:
            self.first_block = self.cipher.decrypt(bytes(self.buf[:self.block]))
            header = self.first_block
        else:
            header = bytes(self.buf[:4])
        p = header
        plen = _read_u32(p)
        aligned = plen if (self.etm or self.mode == GCM or self.mode == CHACHA) else plen + 4
        if plen < 5 or plen > MAX_PACKET_LENGTH or aligned % self.block:
            raise DisconnectError(PROTOCOL_ERROR, f"bad packet length {plen}")
        self.pending_len = plen
        return plen

    def next_packet(self):
        """The next payload, or None until a whole packet has arrived."""
        cdef long plen = self._length()
        cdef Py_ssize_t total
        cdef bytes raw, plain, mac, length, nonce, poly_key
        if plen < 0:
            return None
        total = 4 + plen + (self.mac_len if self.mode != NONE else 0)
        if len(self.buf) < total:
            return None
        raw = bytes(self.buf[:total])
        del self.buf[:total]
        self.pending_len = -1
        if self.mode == NONE:
            plain = raw[4:]
        elif self.mode == CTR:
            mac = raw[4 + plen:]
            if self.etm:
                if not constant_time_equal(self._mac(raw[:4 + plen]), mac):
                    raise DisconnectError(MAC_ERROR, "corrupted MAC on input")
                plain = self.cipher.decrypt(raw[4:4 + plen])
            else:
                plain = self.first_block[4:] + self.cipher.decrypt(raw[self.block:4 + plen])
                if not constant_time_equal(self._mac(self.first_block[:4] + plain), mac):
                    raise DisconnectError(MAC_ERROR, "corrupted MAC on input")
        elif self.mode == GCM:
            c = AES.new(self.key, AES.MODE_GCM, nonce=self._gcm_nonce(), mac_len=16)
            c.update(raw[:4])
            try:
                plain = c.decrypt_and_verify(raw[4:4 + plen], raw[4 + plen:])
            except ValueError:
                raise DisconnectError(MAC_ERROR, "corrupted MAC on input") from None
        else:
            nonce = _u64(self.seq)
            main = ChaCha20.new(key=self.key, nonce=nonce)
            poly_key = main.encrypt(ZERO64)
            tag = Poly1305_MAC(poly_key[:16], poly_key[16:32], raw[:4 + plen]).digest()
            if not constant_time_equal(tag, raw[4 + plen:]):
                raise DisconnectError(MAC_ERROR, "corrupted MAC on input")
            plain = main.encrypt(raw[4:4 + plen])   # a stream cipher: same operation
        pad = plain[0]
        if pad < 4 or pad >= plen:
            raise DisconnectError(PROTOCOL_ERROR, "bad padding length")
        self._advance(total)
        return plain[1:plen - pad]
