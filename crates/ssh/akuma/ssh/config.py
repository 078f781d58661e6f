"""Server settings: algorithms, limits and timers (sshd_config's knobs)."""
from dataclasses import dataclass, field

from . import kex
from .keys import HostKey


@dataclass
class ServerConfig:
    host_key: HostKey
    server_version: str = "SSH-2.0-Akuma_0.1"
    kex_algorithms: tuple = kex.KEX_ALGORITHMS
    ciphers: tuple = kex.CIPHER_ALGORITHMS
    macs: tuple = kex.MAC_ALGORITHMS
    # Rekey after this much traffic (both directions) or this much time.
    rekey_bytes: int = 1 << 30
    rekey_seconds: float = 3600.0
    # Pre-authentication limits (LoginGraceTime, MaxAuthTries).
    login_grace_seconds: float = 120.0
    max_auth_tries: int = 6
    password_auth: bool = False
    # ClientAliveInterval / ClientAliveCountMax; 0 disables.
    keepalive_interval: float = 0.0
    keepalive_count_max: int = 3
    max_channels: int = 128
    # Accepted client key signature algorithms (also sent as server-sig-algs).
    pubkey_algorithms: tuple = ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256")
    allow_tcp_forwarding: bool = True
    extra: dict = field(default_factory=dict)
