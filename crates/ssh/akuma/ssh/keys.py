"""Host keys and client public keys.

The host key is ssh-ed25519, stored in OpenSSH's private key format
("openssh-key-v1", unencrypted) so the image can keep it in
/etc/ssh/ssh_host_ed25519_key and OpenSSH tools can read it.  Client keys
(ssh-ed25519, ssh-rsa with rsa-sha2-256/512, ecdsa-sha2-nistp256) are parsed
from wire blobs and authorized_keys lines and verify signatures.
"""
import base64
import binascii
import os
import secrets

from Crypto.Hash import SHA256, SHA512
from Crypto.PublicKey import ECC, RSA
from Crypto.Signature import DSS, eddsa, pkcs1_15

from . import wire
from .errors import DisconnectError

ED25519 = "ssh-ed25519"
RSA_SHA256 = "rsa-sha2-256"
RSA_SHA512 = "rsa-sha2-512"
ECDSA_P256 = "ecdsa-sha2-nistp256"

# Signature algorithm -> key type it applies to (RFC 8332: ssh-rsa keys sign
# with rsa-sha2-*; plain SHA-1 "ssh-rsa" signatures are refused, as OpenSSH 9).
SIGNATURE_KEY_TYPES = {
    ED25519: ED25519,
    RSA_SHA256: "ssh-rsa",
    RSA_SHA512: "ssh-rsa",
    ECDSA_P256: ECDSA_P256,
}
KEY_TYPES = frozenset(SIGNATURE_KEY_TYPES.values())

_MAGIC = b"openssh-key-v1\x00"
_PEM_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
_PEM_END = "-----END OPENSSH PRIVATE KEY-----"


class KeyFormatError(ValueError):
    """A key file or blob that cannot be used."""


class HostKey:
    """An ssh-ed25519 host key: signs exchange hashes."""

    algorithm = ED25519

    def __init__(self, seed, comment="akuma"):
        if len(seed) != 32:
            raise KeyFormatError("ed25519 seed must be 32 bytes")
        self._key = eddsa.import_private_key(seed)
        self._signer = eddsa.new(self._key, "rfc8032")
        self.seed = bytes(seed)
        self.comment = comment
        self.public = self._key.public_key().export_key(format="raw")

    @classmethod
    def generate(cls, comment="akuma"):
        return cls(secrets.token_bytes(32), comment)

    @classmethod
    def load_or_generate(cls, path, comment="akuma"):
        """Load ``path``; create it (mode 0600, and its .pub) if missing."""
        if os.path.exists(path):
            with open(path, "rb") as f:
                return cls.from_openssh(f.read())
        key = cls.generate(comment)
        key.save(path)
        return key

    def public_blob(self):
        return wire.string(ED25519) + wire.string(self.public)

    def public_line(self):
        return f"{ED25519} {base64.b64encode(self.public_blob()).decode()} {self.comment}\n"

    def sign(self, data):
        """The signature blob for ``data`` (RFC 8709 §6)."""
        return wire.string(ED25519) + wire.string(self._signer.sign(data))

    # -- OpenSSH private key format (PROTOCOL.key) --------------------------
    def to_openssh(self):
        check = secrets.token_bytes(4)
        private = (check + check + wire.string(ED25519) + wire.string(self.public)
                   + wire.string(self.seed + self.public) + wire.string(self.comment))
        private += bytes(range(1, 1 + (-len(private)) % 8))
        body = (_MAGIC + wire.string("none") + wire.string("none") + wire.string(b"")
                + wire.u32(1) + wire.string(self.public_blob()) + wire.string(private))
        b64 = base64.b64encode(body).decode()
        lines = [b64[i:i + 70] for i in range(0, len(b64), 70)]
        return "\n".join([_PEM_BEGIN, *lines, _PEM_END, ""]).encode()

    @classmethod
    def from_openssh(cls, text):
        try:
            lines = text.decode("ascii").strip().splitlines()
            if not lines or lines[0].strip() != _PEM_BEGIN or lines[-1].strip() != _PEM_END:
                raise KeyFormatError("not an OpenSSH private key")
            body = base64.b64decode("".join(line.strip() for line in lines[1:-1]))
            if not body.startswith(_MAGIC):
                raise KeyFormatError("bad OpenSSH key magic")
            r = wire.Reader(body, len(_MAGIC))
            if r.string() != b"none" or r.string() != b"none":
                raise KeyFormatError("encrypted host keys are not supported")
            r.string()
            if r.u32() != 1:
                raise KeyFormatError("expected exactly one key")
            r.string()
            p = wire.Reader(r.string())
            if p.u32() != p.u32():
                raise KeyFormatError("check bytes differ (wrong passphrase or corrupt)")
            if p.text() != ED25519:
                raise KeyFormatError("host key must be ssh-ed25519")
            public = p.string()
            secret = p.string()
            comment = p.text()
        except (UnicodeDecodeError, binascii.Error, DisconnectError) as e:
            raise KeyFormatError(f"malformed OpenSSH private key: {e}") from None
        if len(secret) != 64 or secret[32:] != public:
            raise KeyFormatError("inconsistent ed25519 key")
        return cls(secret[:32], comment)

    def save(self, path):
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.to_openssh())
        with open(path + ".pub", "w") as f:
            f.write(self.public_line())


class PublicKey:
    """A client's public key, parsed from its wire blob."""

    def __init__(self, blob):
        self.blob = bytes(blob)
        r = wire.Reader(self.blob)
        self.type = r.text()
        if self.type == ED25519:
            raw = r.string()
            if len(raw) != 32:
                raise KeyFormatError("bad ed25519 key length")
            self._verifier = eddsa.new(eddsa.import_public_key(raw), "rfc8032")
        elif self.type == "ssh-rsa":
            e, n = r.mpint(), r.mpint()
            if n.bit_length() < 1024 or e < 3:
                raise KeyFormatError("RSA key too small")
            self._rsa = RSA.construct((n, e))
            self._modulus_bytes = (n.bit_length() + 7) // 8
        elif self.type == ECDSA_P256:
            if r.text() != "nistp256":
                raise KeyFormatError("curve name does not match key type")
            try:
                key = ECC.import_key(r.string(), curve_name="p256")
            except ValueError as e:
                raise KeyFormatError(f"bad ecdsa point: {e}") from None
            self._verifier = DSS.new(key, "fips-186-3")
        else:
            raise KeyFormatError(f"unsupported key type {self.type}")
        if not r.at_end():
            raise KeyFormatError("trailing bytes in key blob")

    def supports(self, signature_algorithm):
        return SIGNATURE_KEY_TYPES.get(signature_algorithm) == self.type

    def verify(self, signature_algorithm, data, signature_blob):
        """True iff ``signature_blob`` is a valid signature of ``data``."""
        if not self.supports(signature_algorithm):
            return False
        try:
            r = wire.Reader(signature_blob)
            if r.text() != signature_algorithm:
                return False
            sig = r.string()
            if not r.at_end():
                return False
            if self.type == ED25519:
                self._verifier.verify(data, sig)
            elif self.type == "ssh-rsa":
                if len(sig) > self._modulus_bytes:
                    return False
                digest = (SHA256 if signature_algorithm == RSA_SHA256 else SHA512).new(data)
                pkcs1_15.new(self._rsa).verify(digest, sig.rjust(self._modulus_bytes, b"\0"))
            else:
                rs = wire.Reader(sig)
                sr, ss = rs.mpint(), rs.mpint()
                if not (0 < sr < 2**256 and 0 < ss < 2**256) or not rs.at_end():
                    return False
                self._verifier.verify(SHA256.new(data), sr.to_bytes(32, "big") + ss.to_bytes(32, "big"))
            return True
        except (ValueError, TypeError, DisconnectError):
            return False


def parse_public_key(blob):
    """PublicKey for ``blob``, or None if it is not a usable key."""
    try:
        return PublicKey(blob)
    except (KeyFormatError, ValueError, DisconnectError):
        return None


def parse_authorized_keys(text):
    """Key blobs from authorized_keys text (options before the key type are
    skipped; lines that do not parse are ignored, as sshd does)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    blobs = []
    for line in text.splitlines():
        fields = line.strip().split()
        if not fields or fields[0].startswith("#"):
            continue
        for i, field in enumerate(fields[:-1]):
            if field in KEY_TYPES:
                try:
                    blob = base64.b64decode(fields[i + 1], validate=True)
                except binascii.Error:
                    break
                key = parse_public_key(blob)
                if key is not None and key.type == field:
                    blobs.append(blob)
                break
    return blobs
