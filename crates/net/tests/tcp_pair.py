"""Two Tcbs joined by a simulated link with a manual clock: tests inject
loss, reordering and delay deterministically."""
import heapq

from akuma.net.packets import SYN
from akuma.net.tcp.tcb import Tcb


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class _Listener:
    def __init__(self):
        self.accepted = []

    def established(self, tcb):
        self.accepted.append(tcb)


class Pair:
    """``a`` opens actively to ``b`` (a passive child created on the SYN)."""

    def __init__(self, mss=1000, delay=0.01, drop=None, rcvbuf=1 << 18, sndbuf=1 << 18):
        self.clock = Clock()
        self.delay = delay
        self.drop = drop or (lambda direction, seg: False)
        self.wire = []           # heap of (arrival, n, direction, seg)
        self.n = 0
        self.log = []
        self.listener = _Listener()
        self.a = self._tcb(0, 1000, 80, mss, rcvbuf, sndbuf, 1111)
        self.b = None
        self.b_args = (mss, rcvbuf, sndbuf)

    def _tcb(self, side, lport, rport, mss, rcvbuf, sndbuf, iss):
        t = Tcb(self.clock, lambda seg, side=side: self._send(side, seg), iss, mss=mss,
                rcvbuf=rcvbuf, sndbuf=sndbuf)
        t.lport, t.rport = lport, rport
        return t

    def _send(self, side, seg):
        self.log.append((side, seg))
        if self.drop(side, seg):
            return
        # Freeze the payload: the sender may reuse its buffer.
        seg.payload = bytes(seg.payload)
        self.n += 1
        heapq.heappush(self.wire, (self.clock.now + self.delay, self.n, side, seg))

    def _deliver(self, side, seg):
        if side == 0:
            if self.b is None:
                if not seg.flags & SYN:
                    return
                mss, rcvbuf, sndbuf = self.b_args
                self.b = self._tcb(1, 80, 1000, mss, rcvbuf, sndbuf, 555555)
                self.b.listener = self.listener
                self.b.open_passive(seg)
                return
            self.b.input(seg)
        else:
            self.a.input(seg)

    def step(self):
        """Advance to the next event (a segment arrival or a timer)."""
        times = [w[0] for w in self.wire[:1]]
        for t in (self.a, self.b):
            if t is not None and t.deadline() is not None:
                times.append(t.deadline())
        if not times:
            return False
        self.clock.now = max(self.clock.now, min(times))
        while self.wire and self.wire[0][0] <= self.clock.now:
            _, _, side, seg = heapq.heappop(self.wire)
            self._deliver(side, seg)
        for t in (self.a, self.b):
            if t is not None and t.deadline() is not None and t.deadline() <= self.clock.now:
                t.on_timer()
        return True

    def run(self, until=lambda: False, limit=100000):
        for _ in range(limit):
            if until() or not self.step():
                return
        raise AssertionError("did not settle")

    def connect(self):
        self.a.open_active()
        self.run(lambda: self.b is not None and self.a.state == "ESTABLISHED"
                 and self.b.state == "ESTABLISHED")
