"""Retransmission timeout estimation (RFC 6298) with Linux's bounds."""
RTO_MIN = 0.2
RTO_MAX = 120.0
RTO_INITIAL = 1.0
CLOCK_G = 0.001


class RttEstimator:
    def __init__(self):
        self.srtt = None
        self.rttvar = None
        self.rto = RTO_INITIAL
        self.backoff = 0

    def sample(self, r):
        r = max(r, 0.0)
        if self.srtt is None:
            self.srtt = r
            self.rttvar = r / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r
        self.rto = min(RTO_MAX, max(RTO_MIN, self.srtt + max(CLOCK_G, 4 * self.rttvar)))
        self.backoff = 0

    def current(self):
        """The timeout to arm now: the estimate doubled per unanswered retry."""
        return min(RTO_MAX, self.rto * (2 ** self.backoff))

    def back_off(self):
        self.backoff += 1
