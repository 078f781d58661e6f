"""/etc/shadow password hashes without Python's `crypt` module (deprecated,
gone in 3.13): SHA-crypt `$5$`/`$6$` after Ulrich Drepper's "Unix crypt
using SHA-256 and SHA-512" and MD5-crypt `$1$` (FreeBSD/glibc), on hashlib.
Anything else (yescrypt, bcrypt, DES, garbage) never verifies."""
import hashlib
import hmac
import secrets

ALPHABET = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SCHEMES = {"md5": b"$1$", "sha256": b"$5$", "sha512": b"$6$"}
ROUNDS_DEFAULT, ROUNDS_MIN, ROUNDS_MAX = 5000, 1000, 999999999


def _repeat(block, n):
    """`block` laid end to end and cut at n bytes (the spec's "for each block
    of 32/64 bytes add the digest, then the remaining bytes")."""
    return (block * (n // len(block) + 1))[:n]


def _b64(groups):
    """crypt's base64: each (b2, b1, b0, n) is a 24-bit little-endian word
    written as n six-bit characters, least significant first."""
    out = bytearray()
    for b2, b1, b0, n in groups:
        w = b2 << 16 | b1 << 8 | b0
        for _ in range(n):
            out.append(ALPHABET[w & 63])
            w >>= 6
    return bytes(out)


def _sha_crypt(h, pw, salt, rounds):
    b = h(pw + salt + pw).digest()
    a = h(pw + salt + _repeat(b, len(pw)))
    i = len(pw)
    while i:                                    # bits of len(pw), lowest first
        a.update(b if i & 1 else pw)
        i >>= 1
    a = a.digest()
    p = _repeat(h(pw * len(pw)).digest(), len(pw))
    s = _repeat(h(salt * (16 + a[0])).digest(), len(salt))
    c = a
    for r in range(rounds):                     # the slow part, on purpose
        x = h(p if r & 1 else c)
        if r % 3:
            x.update(s)
        if r % 7:
            x.update(p)
        x.update(c if r & 1 else p)
        c = x.digest()
    # the spec's byte orders: SHA-256 (0,10,20) (21,1,11) (12,22,2) ...,
    # SHA-512 (0,21,42) (22,43,1) (44,2,23) ..., then the leftover bytes
    if len(c) == 32:
        return _b64([(*(c[i + 10 * ((j - i) % 3)] for j in range(3)), 4) for i in range(10)]
                    + [(0, c[31], c[30], 3)])
    return _b64([(*(c[i + 21 * ((j + i) % 3)] for j in range(3)), 4) for i in range(21)]
                + [(0, 0, c[63], 2)])


def _md5_crypt(pw, salt):
    b = hashlib.md5(pw + salt + pw).digest()
    a = hashlib.md5(pw + b"$1$" + salt + _repeat(b, len(pw)))
    i = len(pw)
    while i:                      # the historical quirk: a NUL byte or pw's first byte
        a.update(b"\0" if i & 1 else pw[:1])
        i >>= 1
    c = a.digest()
    for r in range(1000):
        x = hashlib.md5(pw if r & 1 else c)
        if r % 3:
            x.update(salt)
        if r % 7:
            x.update(pw)
        x.update(c if r & 1 else pw)
        c = x.digest()
    return _b64([(c[0], c[6], c[12], 4), (c[1], c[7], c[13], 4), (c[2], c[8], c[14], 4),
                 (c[3], c[9], c[15], 4), (c[4], c[10], c[5], 4), (0, 0, c[11], 2)])


def _crypt(pw, setting):
    """The full hash string for password bytes and a setting (`$6$salt...`),
    as bytes; ValueError for schemes we don't do or malformed settings."""
    if b"\0" in pw:
        raise ValueError("NUL in password")     # crypt(3) takes C strings
    if setting.startswith(b"$1$"):
        salt = setting[3:].split(b"$", 1)[0][:8]
        return b"$1$" + salt + b"$" + _md5_crypt(pw, salt)
    if setting[:3] not in (b"$5$", b"$6$"):
        raise ValueError("unsupported scheme")
    prefix, rest, rounds_part, rounds = setting[:3], setting[3:], b"", ROUNDS_DEFAULT
    if rest.startswith(b"rounds="):
        num, sep, rest = rest[7:].partition(b"$")
        if not sep or not num.isdigit():
            raise ValueError("bad rounds=")
        rounds = min(max(int(num), ROUNDS_MIN), ROUNDS_MAX)   # the spec clamps
        rounds_part = b"rounds=%d$" % rounds    # given rounds are always echoed
    salt = rest.split(b"$", 1)[0][:16]
    h = hashlib.sha256 if prefix == b"$5$" else hashlib.sha512
    return prefix + rounds_part + salt + b"$" + _sha_crypt(h, pw, salt, rounds)


def _bytes(password):
    return password.encode("utf-8") if isinstance(password, str) else bytes(password)


def supported(stored):
    """Whether `stored` names a scheme verify() knows (it may still be malformed)."""
    return isinstance(stored, str) and stored[:3] in ("$1$", "$5$", "$6$")


def verify(password, stored):
    """True iff `password` (str as UTF-8, or bytes) hashes to `stored`; False
    for unsupported or malformed entries, never an exception."""
    if not isinstance(password, (str, bytes)) or not supported(stored):
        return False
    try:
        want = stored.encode("utf-8")
        got = _crypt(_bytes(password), want)
    except ValueError:                          # UnicodeError included
        return False
    return hmac.compare_digest(got, want)


def hash_password(password, scheme="sha512", salt=None, rounds=None):
    """A new shadow entry: scheme "sha512", "sha256" or "md5"; a random salt
    unless given (cut to 16/8 chars, [./0-9A-Za-z] only so the result sits
    safely in /etc/shadow); rounds (SHA only) clamped to 1000..999999999."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}")
    prefix = SCHEMES[scheme]
    limit = 8 if scheme == "md5" else 16
    if salt is None:
        salt = bytes(secrets.choice(ALPHABET) for _ in range(limit))
    salt = salt.encode("ascii") if isinstance(salt, str) else bytes(salt)
    salt = salt[:limit]
    if any(ch not in ALPHABET for ch in salt):
        raise ValueError("salt characters must be [./0-9A-Za-z]")
    if rounds is not None:
        if scheme == "md5":
            raise ValueError("md5-crypt has no rounds")
        prefix += b"rounds=%d$" % min(max(int(rounds), ROUNDS_MIN), ROUNDS_MAX)
    return _crypt(_bytes(password), prefix + salt).decode("ascii")
