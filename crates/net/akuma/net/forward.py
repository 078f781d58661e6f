"""Host port forwards: `-p [ADDR:]HOSTPORT:GUESTPORT[/udp]`, bound to
127.0.0.1 unless an address is given (QEMU's hostfwd)."""
from akuma.abi import KernelError
from akuma.abi.errors import EINVAL


def parse_spec(spec):
    """(host address, host port, guest port, proto) from a -p spec."""
    proto = "tcp"
    if spec.endswith("/udp") or spec.endswith("/tcp"):
        spec, proto = spec[:-4], spec[-3:]
    parts = spec.split(":")
    try:
        if len(parts) == 2:
            return "127.0.0.1", int(parts[0]), int(parts[1]), proto
        if len(parts) == 3:
            return parts[0] or "127.0.0.1", int(parts[1]), int(parts[2]), proto
    except ValueError:
        pass
    raise KernelError(EINVAL, f"bad port forward {spec!r}: want [ADDR:]HOSTPORT:GUESTPORT[/udp]")


def add_forward(kernel, spec):
    """Forward host connections on ``spec``'s host port to the guest; the
    host port actually bound (for HOSTPORT 0)."""
    from akuma.net import service
    addr, hport, gport, proto = parse_spec(spec)
    if proto != "tcp":
        raise KernelError(EINVAL, "UDP port forwards are not supported yet")
    return service.attach(kernel).nat.add_forward(addr, hport, gport)
