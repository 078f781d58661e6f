"""Host port forwards: `-p [ADDR:]HOSTPORT:GUESTPORT[/udp]`, bound to
127.0.0.1 unless an address is given (QEMU's hostfwd)."""
import socket

from akuma.abi import KernelError
from akuma.abi.errors import EINVAL

# What a booted system forwards unless -p takes the host port (SSH and HTTP).
BOOT_DEFAULTS = (("127.0.0.1", 2222, 22, "tcp"), ("127.0.0.1", 8080, 80, "tcp"))


def parse_spec(spec):
    """(host address, host port, guest port, proto) from a -p spec."""
    text, proto = spec, "tcp"
    if text.lower().endswith(("/udp", "/tcp")):
        text, proto = text[:-4], text[-3:].lower()
    parts = text.split(":")
    try:
        if len(parts) in (2, 3):
            addr = parts[0] if len(parts) == 3 and parts[0] else "127.0.0.1"
            socket.inet_pton(socket.AF_INET, addr)   # strict: no "1.2.3"
            hport, gport = int(parts[-2]), int(parts[-1])
            if 0 <= hport < 65536 and 0 < gport < 65536:
                return addr, hport, gport, proto
    except (OSError, ValueError):
        pass
    raise KernelError(EINVAL, f"bad port forward {spec!r}: want [ADDR:]HOSTPORT:GUESTPORT[/udp]")


def add_forward(kernel, spec):
    """Forward host connections (or datagrams) on ``spec``'s host port to
    the guest; the host port actually bound (for HOSTPORT 0).  A spec is a
    string or a parse_spec tuple; OSError when the host port is taken."""
    from akuma.net import service
    addr, hport, gport, proto = parse_spec(spec) if isinstance(spec, str) else spec
    nat = service.attach(kernel).nat
    if proto == "udp":
        return nat.add_udp_forward(addr, hport, gport)
    return nat.add_forward(addr, hport, gport)


def publish(kernel, specs, warn, defaults=()):
    """Set up ``specs`` and the ``defaults`` whose host port no spec takes;
    a port that cannot be bound is a one-line ``warn`` and is skipped.
    Returns the [(spec, bound host port)] that work."""
    taken = {(s[1], s[3]) for s in specs}
    wanted = [d for d in defaults if (d[1], d[3]) not in taken] + list(specs)
    done = []
    for spec in wanted:
        addr, hport, gport, proto = spec
        try:
            done.append((spec, add_forward(kernel, spec)))
        except OSError as e:
            warn(f"akuma: cannot forward {addr}:{hport}/{proto} to guest port {gport}: "
                 f"{e.strerror or e}")
    return done
