"""The network as a kernel service: one Stack per kernel (``kernel.net``),
its timers on the scheduler, socket wake-ups through the scheduler, and
AF_INET registered with the socket layer."""
import time

from akuma.net import sockopt as O
from akuma.net.inet import make_socket
from akuma.net.socket import register_family
from akuma.net.stack import Stack


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
