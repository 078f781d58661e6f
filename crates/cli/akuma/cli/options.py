"""Parsing of command-line values shared by the subcommands."""
import argparse
import re

_SIZE = re.compile(r"^(\d+)([KMGkmg]i?[Bb]?)?$")


def parse_size(text):
    """'512M', '1G', '65536' -> bytes (a multiple of 64 KiB, at least 16 MiB)."""
    m = _SIZE.match(text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (use e.g. 512M or 1G)")
    n = int(m.group(1))
    unit = (m.group(2) or "").upper()[:1]
    n <<= {"": 0, "K": 10, "M": 20, "G": 30}[unit]
    if n < 16 << 20:
        raise argparse.ArgumentTypeError("memory must be at least 16M")
    if n > 64 << 30:
        raise argparse.ArgumentTypeError("memory must be at most 64G")
    return (n + 0xFFFF) & ~0xFFFF


def parse_volume(text):
    """'HOST:GUEST[:ro]' -> (host, guest, readonly)."""
    parts = text.split(":")
    ro = False
    if len(parts) == 3 and parts[2] in ("ro", "rw"):
        ro = parts[2] == "ro"
        parts = parts[:2]
    if len(parts) != 2 or not parts[0] or not parts[1].startswith("/"):
        raise argparse.ArgumentTypeError(
            f"bad volume {text!r} (use HOST:GUEST[:ro] with an absolute GUEST path)")
    return parts[0], parts[1], ro


def parse_env(text):
    if "=" not in text or text.startswith("="):
        raise argparse.ArgumentTypeError(f"bad environment entry {text!r} (use KEY=VALUE)")
    return text


def parse_disk_size(text):
    """'1G', '256M' -> bytes, for a filesystem image (32 MiB to 16 TiB)."""
    m = _SIZE.match(text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (use e.g. 256M or 1G)")
    n = int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[(m.group(2) or "").upper()[:1]]
    if n < 32 << 20:
        raise argparse.ArgumentTypeError("an image must be at least 32M")
    if n > 16 << 40:
        raise argparse.ArgumentTypeError("an image must be at most 16T")
    return n


def parse_port(text):
    """'[ADDR:]HOST:GUEST[/udp]' -> (addr, host_port, guest_port, 'tcp' | 'udp');
    ADDR defaults to 127.0.0.1 (QEMU's hostfwd)."""
    from akuma.abi import KernelError
    from akuma.net.forward import parse_spec
    try:
        addr, host, guest, proto = parse_spec(text)
    except KernelError:
        host = guest = None
    if host is None or not (0 < host < 65536) or not (0 < guest < 65536):
        raise argparse.ArgumentTypeError(
            f"bad port forward {text!r} (use [ADDR:]HOST:GUEST[/udp], ports 1-65535)")
    return addr, host, guest, proto
