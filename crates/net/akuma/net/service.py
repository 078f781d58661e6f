"""The network as a kernel service: one Stack per kernel (``kernel.net``),
its timers on the scheduler, socket wake-ups through the scheduler, and
AF_INET registered with the socket layer."""
import time

from akuma.net import sockopt as O
from akuma.net.inet import make_socket
from akuma.net.socket import register_family
from akuma.net.stack import Stack

DRAIN_SECONDS = 5.0


class NetService:
    def __init__(self, kernel):
        from akuma.sched.scheduler import Timer
        self.kernel = kernel
        self.stack = Stack(clock=time.monotonic, log=kernel.log)
        self.sched = kernel.sched
        self.timer = Timer(self._fire)
        self.stack.on_timer_change = self._arm
        self.stack.wake = lambda sock: sock.wake_all(self.sched)
        self._nat = None

    def _arm(self, deadline):
        if self.timer.deadline is None or deadline < self.timer.deadline:
            self.sched.arm(self.timer, deadline)

    def _fire(self):
        nxt = self.stack.run_timers()
        if nxt is not None:
            self.sched.arm(self.timer, nxt)

    def sending(self):
        """Is any TCP connection still delivering what it was given?"""
        for sock in list(self.stack.tcp_conns.values()):
            t = sock.tcb
            if t is not None and t.send_pending():
                return True
        if self._nat is not None:
            if any(f.delivering() for f in list(self._nat.flows.values())):
                return True
            if any(c.delivering() for c in list(self._nat.local_conns)):
                return True
        return False

    def drain(self, sched, bound=DRAIN_SECONDS):
        """After the last process: run the stack's timers and the NAT's
        host sockets until every connection has delivered its send queue,
        or ``bound`` seconds (the RTO giving up ends a connection sooner)."""
        end = time.monotonic() + bound
        self.stack.flush()
        while self.sending():
            left = end - time.monotonic()
            if left <= 0:
                self.kernel.log("net: exit with unsent TCP data after "
                                f"{bound:g}s")
                return False
            sched.poll(min(left, 0.05))
            self.stack.flush()
        return True

    @property
    def nat(self):
        """The user-mode NAT on eth0's other end, created on first use."""
        if self._nat is None:
            from akuma.net.nat import Nat
            self._nat = Nat(self.stack, self.sched, log=self.kernel.log)
        return self._nat


def attach(kernel):
    """Give ``kernel`` its network (idempotent)."""
    svc = getattr(kernel, "net", None)
    if svc is None:
        svc = kernel.net = NetService(kernel)
    return svc


def _factory(kernel, type_, protocol):
    svc = attach(kernel)
    try:
        svc.nat                   # eth0 needs its other end before the first packet
    except ImportError:
        pass                      # no NAT backend: eth0 has no other end
    return make_socket(svc.stack, type_, protocol)


register_family(O.AF_INET, _factory)


def start_dhcp(kernel, log=None, timeout=3.0):
    """A booted system's eth0: unconfigured until the NAT's DHCP ACK; the
    QEMU defaults (with a log line) if no answer within ``timeout``."""
    from akuma.net import dhcp
    svc = attach(kernel)
    try:
        svc.nat
    except ImportError:
        pass
    client = dhcp.Client(svc.stack, timeout=timeout, fallback=dhcp.QEMU_DEFAULTS,
                         log=log or kernel.log)
    svc.dhcp = client
    client.start()
    return client


def _packet_factory(kernel, type_, protocol):
    from akuma.net.packet import PacketSocket
    svc = attach(kernel)
    try:
        svc.nat
    except ImportError:
        pass
    return PacketSocket(svc.stack, type_, protocol)


register_family(O.AF_PACKET, _packet_factory)
