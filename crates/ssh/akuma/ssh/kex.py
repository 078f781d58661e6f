"""Key exchange (RFC 4253 §7-8) with curve25519-sha256 (RFC 8731):
KEXINIT building and negotiation, the X25519 agreement, the exchange hash
and the derivation of the six keys."""
import hashlib
import secrets
from dataclasses import dataclass

from Crypto.Protocol.DH import import_x25519_public_key, key_agreement
from Crypto.PublicKey import ECC

from . import messages as msg
from . import wire
from .errors import KEY_EXCHANGE_FAILED, DisconnectError
from .packet import CIPHERS, MACS, AEAD_CIPHERS

KEX_ALGORITHMS = ("curve25519-sha256", "curve25519-sha256@libssh.org")
HOST_KEY_ALGORITHMS = ("ssh-ed25519",)
CIPHER_ALGORITHMS = ("chacha20-poly1305@openssh.com", "aes128-ctr", "aes256-ctr",
                     "aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
MAC_ALGORITHMS = ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
                  "hmac-sha2-256", "hmac-sha2-512")
COMPRESSION = ("none",)

EXT_INFO_CLIENT = "ext-info-c"
STRICT_CLIENT = "kex-strict-c-v00@openssh.com"
STRICT_SERVER = "kex-strict-s-v00@openssh.com"


@dataclass
class KexInit:
    """A parsed SSH_MSG_KEXINIT."""
    kex: list
    host_key: list
    cipher_c2s: list
    cipher_s2c: list
    mac_c2s: list
    mac_s2c: list
    comp_c2s: list
    comp_s2c: list
    first_kex_follows: bool

    @classmethod
    def parse(cls, payload):
        r = wire.Reader(payload, 1 + 16)   # message number, cookie
        lists = [r.name_list() for _ in range(10)]
        follows = r.boolean()
        r.u32()
        return cls(lists[0], lists[1], lists[2], lists[3], lists[4], lists[5],
                   lists[6], lists[7], follows)


def build_kexinit(kex, host_key, ciphers, macs, first=True):
    """Our KEXINIT payload.  The strict-KEX marker goes only in the first."""
    kex = list(kex) + ([STRICT_SERVER] if first else [])
    return (wire.byte(msg.KEXINIT) + secrets.token_bytes(16)
            + wire.name_list(kex) + wire.name_list(host_key)
            + wire.name_list(ciphers) * 2 + wire.name_list(macs) * 2
            + wire.name_list(COMPRESSION) * 2 + wire.name_list([]) * 2
            + wire.boolean(False) + wire.u32(0))


def _choose(what, client, server):
    for name in client:
        if name in server:
            return name
    raise DisconnectError(KEY_EXCHANGE_FAILED, f"no matching {what} (client offered {','.join(client)})")


@dataclass
class Negotiated:
    kex: str
    host_key: str
    cipher_c2s: str
    cipher_s2c: str
    mac_c2s: str
    mac_s2c: str
    guess_was_right: bool


def negotiate(client, kex, host_key, ciphers, macs):
    """Pick each algorithm: the client's first choice that we support."""
    chosen_kex = _choose("key exchange", client.kex, kex)
    chosen_host = _choose("host key type", client.host_key, host_key)
    c2s = _choose("cipher", client.cipher_c2s, ciphers)
    s2c = _choose("cipher", client.cipher_s2c, ciphers)
    mac_c2s = "<implicit>" if c2s in AEAD_CIPHERS else _choose("MAC", client.mac_c2s, macs)
    mac_s2c = "<implicit>" if s2c in AEAD_CIPHERS else _choose("MAC", client.mac_s2c, macs)
    _choose("compression", client.comp_c2s, COMPRESSION)
    _choose("compression", client.comp_s2c, COMPRESSION)
    right = bool(client.kex) and bool(client.host_key) and client.kex[0] == chosen_kex \
        and client.host_key[0] == chosen_host
    return Negotiated(chosen_kex, chosen_host, c2s, s2c, mac_c2s, mac_s2c, right)


def x25519_exchange(client_public):
    """(server public, shared secret) for the client's 32-byte public value."""
    if len(client_public) != 32:
        raise DisconnectError(KEY_EXCHANGE_FAILED, "bad curve25519 public key length")
    private = ECC.generate(curve="curve25519")
    try:
        peer = import_x25519_public_key(client_public)
        secret = key_agreement(static_priv=private, static_pub=peer, kdf=lambda x: x)
    except ValueError as e:
        raise DisconnectError(KEY_EXCHANGE_FAILED, f"bad curve25519 public key: {e}") from None
    if not any(secret):   # RFC 8731 §3: reject the all-zero shared secret
        raise DisconnectError(KEY_EXCHANGE_FAILED, "all-zero curve25519 shared secret")
    return private.public_key().export_key(format="raw"), secret


def exchange_hash(v_c, v_s, i_c, i_s, k_s, q_c, q_s, shared):
    return hashlib.sha256(
        wire.string(v_c) + wire.string(v_s) + wire.string(i_c) + wire.string(i_s)
        + wire.string(k_s) + wire.string(q_c) + wire.string(q_s)
        + wire.mpint_from_unsigned(shared)).digest()


def derive_key(shared, h, letter, session_id, length):
    """RFC 4253 §7.2: HASH(K || H || X || session_id), extended as needed."""
    k = wire.mpint_from_unsigned(shared)
    out = hashlib.sha256(k + h + letter + session_id).digest()
    while len(out) < length:
        out += hashlib.sha256(k + h + out).digest()
    return out[:length]


def derive_direction(shared, h, session_id, cipher, mac, letters):
    """(iv, key, mac key) for one direction; letters b"ACE" are c2s, b"BDF" s2c."""
    key_len, iv_len, _ = CIPHERS[cipher]
    mac_len = MACS[mac][1] if mac in MACS else 0
    iv = derive_key(shared, h, letters[0:1], session_id, iv_len) if iv_len else b""
    key = derive_key(shared, h, letters[1:2], session_id, key_len)
    mac_key = derive_key(shared, h, letters[2:3], session_id, mac_len) if mac_len else b""
    return iv, key, mac_key
