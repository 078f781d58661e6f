"""One TCP connection: the RFC 9293 state machine with RFC 6298 timers,
Reno/NewReno congestion control with fast retransmit, window scaling and
timestamps (RFC 7323), SACK-permitted/SACK blocks for what we hold out of
order, Nagle, delayed ACKs, zero-window probes and keepalive.

Sans-I/O: ``emit(seg)`` sends a Segment (ports filled in, addresses are the
caller's), ``clock()`` is the time in seconds, ``on_event()`` tells the
owner that readiness may have changed, ``on_timer_change()`` that
``deadline()`` moved."""
from akuma.abi.errors import ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, ENOTCONN
from akuma.net.packets import ACK, FIN, PSH, RST, SYN, Segment
from akuma.net.tcp import seq as S
from akuma.net.tcp.rtt import RttEstimator

CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED = (
    "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED")
FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT = (
    "FIN_WAIT1", "FIN_WAIT2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT")

# /proc/net/tcp's numbering
STATE_NUMBER = {ESTABLISHED: 1, SYN_SENT: 2, SYN_RECEIVED: 3, FIN_WAIT_1: 4, FIN_WAIT_2: 5,
                TIME_WAIT: 6, CLOSED: 7, CLOSE_WAIT: 8, LAST_ACK: 9, LISTEN: 10, CLOSING: 11}

SYNCHRONIZED = (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT)
CAN_SEND = (ESTABLISHED, CLOSE_WAIT)
RECEIVES_DATA = (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2)

DELACK = 0.04
MAX_RETRIES = 15          # tcp_retries2
MAX_SYN_RETRIES = 6       # tcp_syn_retries
TIME_WAIT_SECONDS = 60.0
OUR_WSCALE = 7
MAX_WINDOW = 0xFFFF << OUR_WSCALE
DUPACK_THRESHOLD = 3
TS_OPTION_LEN = 12        # NOP NOP + the 10-byte timestamps option


class Tcb:
    def __init__(self, clock, emit, iss, mss=1460, rcvbuf=1 << 18, sndbuf=1 << 18,
                 on_event=None, on_timer_change=None):
        self.clock = clock
        self.emit = emit
        self.on_event = on_event or (lambda: None)
        self.on_timer_change = on_timer_change or (lambda: None)
        self.state = CLOSED
        self.lport = self.rport = 0
        self.error = 0                 # pending SO_ERROR
        self.iss = iss
        self.snd_una = self.snd_nxt = self.snd_max = iss
        self.snd_wnd = 0
        self.snd_wl1 = self.snd_wl2 = 0
        self.snd_wscale = 0
        self.rcv_wscale = 0
        self.irs = self.rcv_nxt = 0
        self.rcv_adv = 0               # right edge we advertised
        self.our_mss = mss
        self.mss = mss                 # effective send MSS
        self.sndbuf = bytearray()      # data from buf_seq: unacked, then unsent
        self.buf_seq = S.add(iss, 1)
        self.sndbuf_size = sndbuf
        self.rcvbuf = bytearray()      # in order, not yet read
        self.rcvbuf_size = rcvbuf
        self.ooo = []                  # sorted [(seq, bytes)] beyond rcv_nxt
        self.ooo_fin = None
        self.fin_queued = False        # the app shut writes: FIN after sndbuf
        self.fin_seq = None            # the FIN's sequence number once sent
        self.fin_received = False
        self.rd_shut = False
        self.orphaned = False          # the app closed its socket
        self.nodelay = False
        self.cork = False
        self.use_ts = False
        self.ts_recent = 0
        self.sack_ok = False
        self.rtt = RttEstimator()
        self.rtt_seq = None            # Karn: one timed segment at a time
        self.rtt_time = 0.0
        self.cwnd = 10 * mss
        self.ssthresh = 1 << 30
        self.dupacks = 0
        self.recover = None            # NewReno recovery point
        self.retries = 0
        self.t_rtx = None              # deadlines (None: not armed)
        self.t_delack = None
        self.t_persist = None
        self.t_keepalive = None
        self.t_timewait = None
        self.ack_pending = 0           # segments received since our last ACK
        self.keepalive = False
        self.keepidle, self.keepintvl, self.keepcnt = 7200.0, 75.0, 9
        self.keep_probes = 0
        self.last_recv = clock()
        self.ttl = 64
        self.time_wait = TIME_WAIT_SECONDS
        self.listener = None           # the Listener a passive open belongs to
        self.stats = None              # the stack's Stats, when wired
        self.retrans_segs = 0

    # ===================================================================== opening
    def open_active(self):
        self.state = SYN_SENT
        self.rcv_wscale = OUR_WSCALE
        self._send_syn(ack=False)
        self._arm_rtx()
        self._changed()

    def open_passive(self, syn):
        """A child of a listener answering ``syn``."""
        self.state = SYN_RECEIVED
        self._take_syn_options(syn)
        self.irs = syn.seq
        self.rcv_nxt = S.add(syn.seq, 1)
        self.snd_wnd = syn.window       # never scaled in a SYN
        self.snd_wl1, self.snd_wl2 = syn.seq, self.iss
        self._send_syn(ack=True)
        self._arm_rtx()
        self._changed()

    def _take_syn_options(self, syn):
        if syn.mss:
            self.mss = max(64, min(self.our_mss, syn.mss))
        else:
            self.mss = min(self.our_mss, 536)
        if syn.wscale is not None and (self.state != SYN_SENT or self.rcv_wscale):
            self.snd_wscale = syn.wscale
            self.rcv_wscale = OUR_WSCALE
        else:
            self.snd_wscale = self.rcv_wscale = 0
        self.sack_ok = syn.sack_ok
        if syn.tsval is not None:
            self.use_ts = True
            self.ts_recent = syn.tsval
            # The MSS bounds the segment's data plus its options (RFC 9293
            # 3.7.1): the timestamps every segment carries come out of it, as
            # in Linux's mss_cache, so a full segment still fits the MTU.
            self.mss = max(64, self.mss - TS_OPTION_LEN)
        self.cwnd = 10 * self.mss

    def _send_syn(self, ack):
        seg = Segment(self.lport, self.rport, self.iss, self.rcv_nxt if ack else 0,
                      SYN | (ACK if ack else 0), min(self._rcv_space(), 0xFFFF),
                      mss=self.our_mss, sack_ok=True)
        if not ack or self.rcv_wscale:
            seg.wscale = OUR_WSCALE
        if not ack or self.use_ts:
            seg.tsval = self._ts()
            seg.tsecr = self.ts_recent if ack else 0
        self.snd_nxt = S.add(self.iss, 1)
        self.snd_max = self.snd_nxt
        if ack:
            self.rcv_adv = S.add(self.rcv_nxt, seg.window)
        self._emit(seg)

    # ===================================================================== app calls
    def send(self, data):
        """Queue up to the free send-buffer space; the count taken."""
        if self.state not in CAN_SEND and self.state not in (SYN_SENT, SYN_RECEIVED):
            raise _Error(self.error or EPIPE)
        if self.fin_queued:
            raise _Error(EPIPE)
        room = self.sndbuf_size - len(self.sndbuf)
        n = min(room, len(data))
        if n <= 0:
            return 0
        self.sndbuf += data[:n]
        if self.state in CAN_SEND:
            self._output()
        self._changed()
        return n

    def recv_available(self):
        return len(self.rcvbuf)

    def recv(self, n, peek=False):
        data = bytes(self.rcvbuf[:n])
        if not peek and data:
            before = self._rcv_space()
            del self.rcvbuf[:len(data)]
            after = self._rcv_space()
            # Window update once the opening is worth a segment (RFC 9293 3.8.6.2.2).
            if self.state in RECEIVES_DATA and after - max(0, S.diff(self.rcv_adv, self.rcv_nxt)) \
                    >= min(self.mss, self.rcvbuf_size // 2) and before < after:
                self._send_ack()
            self._changed()
        return data

    def shutdown_write(self):
        if self.state in (SYN_SENT, CLOSED, LISTEN):
            self._close_now()
            return
        if not self.fin_queued:
            self.fin_queued = True
            self._output()
            self._changed()

    def close(self, linger_abort=False):
        """The application is done with the connection."""
        self.orphaned = True
        if self.state in (CLOSED, LISTEN, SYN_SENT):
            self._close_now()
            return
        if linger_abort or self.rcvbuf:
            # Unread data (RFC 2525 2.17) or SO_LINGER 0: abort with a reset.
            self.abort()
            return
        self.rd_shut = True
        self.shutdown_write()

    def abort(self):
        if self.state in (SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT):
            self._emit(Segment(self.lport, self.rport, self.snd_nxt, 0, RST, 0))
            self._count("Tcp", "OutRsts")
        self._close_now()

    # ===================================================================== readiness
    @property
    def readable(self):
        return bool(self.rcvbuf) or self.fin_received or self.state == CLOSED or \
            bool(self.error) or self.rd_shut

    @property
    def writable(self):
        if self.state in CAN_SEND:
            return self.sndbuf_size - len(self.sndbuf) > 0 and not self.fin_queued
        return self.state not in (SYN_SENT, SYN_RECEIVED)

    def send_pending(self):
        """Data or a FIN still owed to the peer (what exit waits for)."""
        if self.state in (CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, TIME_WAIT):
            return False
        return bool(self.sndbuf) or self.state in (FIN_WAIT_1, CLOSING, LAST_ACK) or \
            (self.fin_queued and self.state in CAN_SEND)

    def unacked(self):
        return S.diff(self.snd_nxt, self.snd_una)

    # ===================================================================== input
    def input(self, seg):
        """One arriving segment for this connection (already demultiplexed)."""
        self.last_recv = self.clock()
        self.keep_probes = 0
        if self.state == SYN_SENT:
            self._input_syn_sent(seg)
        elif self.state != CLOSED:
            self._input_synchronized(seg)
        self._changed()

    def _input_syn_sent(self, seg):
        f = seg.flags
        if f & ACK and (S.le(seg.ack, self.iss) or S.gt(seg.ack, self.snd_nxt)):
            if not f & RST:
                self._emit(Segment(self.lport, self.rport, seg.ack, 0, RST, 0))
            return
        if f & RST:
            if f & ACK:
                self._fail(ECONNREFUSED)
            return
        if not f & SYN:
            return
        self._take_syn_options(seg)
        self.irs = seg.seq
        self.rcv_nxt = S.add(seg.seq, 1)
        if f & ACK:
            self.snd_una = seg.ack
            self._rtt_ack(seg)
            self.snd_wnd = seg.window           # a SYN's window is never scaled
            self.snd_wl1, self.snd_wl2 = seg.seq, seg.ack
            self.state = ESTABLISHED
            self.retries = 0
            self.t_rtx = None
            self._send_ack()
            self._output()
        else:
            self.state = SYN_RECEIVED           # simultaneous open
            self.snd_wnd = seg.window
            self._send_syn(ack=True)

    def _acceptable(self, seg):
        """RFC 9293 3.10.7.4: does any of the segment fall in the window?"""
        wnd = max(0, S.diff(self.rcv_adv, self.rcv_nxt))
        n = seg.seg_len
        if n == 0:
            if wnd == 0:
                return seg.seq == self.rcv_nxt
            return S.le(self.rcv_nxt, seg.seq) and S.lt(seg.seq, S.add(self.rcv_nxt, wnd))
        if wnd == 0:
            return False
        end = S.add(seg.seq, n - 1)
        return (S.le(self.rcv_nxt, seg.seq) and S.lt(seg.seq, S.add(self.rcv_nxt, wnd))) or \
            (S.le(self.rcv_nxt, end) and S.lt(end, S.add(self.rcv_nxt, wnd)))

    def _input_synchronized(self, seg):
        f = seg.flags
        if self.use_ts and seg.tsval is not None and not f & RST:
            # PAWS (RFC 7323 5): an old timestamp marks an old duplicate.
            if S.lt(seg.tsval, self.ts_recent) and self.state != SYN_RECEIVED:
                self._send_ack()
                return
        if not self._acceptable(seg):
            if f & RST:
                return
            if self.state == TIME_WAIT and f & SYN:
                return
            self._send_ack()
            return
        if f & RST:
            if seg.seq != self.rcv_nxt:
                self._send_ack()            # RFC 5961 challenge ACK
                return
            if self.state == SYN_RECEIVED:
                self._close_now(ECONNREFUSED if self.listener is None else 0)
            elif self.state in (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT):
                self._count("Tcp", "EstabResets")
                self._fail(ECONNRESET)
            else:
                self._close_now()
            return
        if f & SYN:
            if self.state == SYN_RECEIVED and seg.seq == self.irs:
                self._send_syn(ack=True)    # our SYN-ACK was lost
                return
            self._send_ack()                # RFC 5961 challenge ACK
            return
        if not f & ACK:
            return
        if self.use_ts and seg.tsval is not None and S.le(seg.seq, self.rcv_nxt):
            self.ts_recent = seg.tsval
        if self.state == SYN_RECEIVED:
            if S.lt(self.snd_una, seg.ack) and S.le(seg.ack, self.snd_nxt):
                self.state = ESTABLISHED
                self.snd_wnd = seg.window << self.snd_wscale
                self.snd_wl1, self.snd_wl2 = seg.seq, seg.ack
                if self.listener is not None:
                    self.listener.established(self)
                if self.state != ESTABLISHED:
                    return                  # the listener refused it
            else:
                self._emit(Segment(self.lport, self.rport, seg.ack, 0, RST, 0))
                return
        if not self._process_ack(seg):
            return
        if self.state == CLOSED:
            return
        if seg.payload and self.state in RECEIVES_DATA:
            if self.orphaned and self.rd_shut:
                self.abort()                # data for a closed socket (Linux)
                return
            self._receive_data(seg)
        elif seg.payload:
            self._send_ack()
        if f & FIN or self.ooo_fin is not None:
            if f & FIN:
                fin_at = S.add(seg.seq, len(seg.payload))
                if self.ooo_fin is None and S.ge(fin_at, self.rcv_nxt):
                    self.ooo_fin = fin_at
            if self.ooo_fin is not None and self.ooo_fin == self.rcv_nxt:
                self._receive_fin()
        if self.ack_pending:
            if self.ack_pending >= 2 or self.ooo or not self._delack_ok():
                self._send_ack()
            elif self.t_delack is None:
                self.t_delack = self.clock() + DELACK
        self._output()

    def _delack_ok(self):
        return self.state in RECEIVES_DATA

    def _process_ack(self, seg):
        """RFC 9293 3.10.7.4 fifth step; False to drop the rest."""
        ack = seg.ack
        if S.gt(ack, self.snd_max):
            self._send_ack()
            return False
        wnd = seg.window << self.snd_wscale
        if S.le(ack, self.snd_una):
            # A duplicate: count it for fast retransmit (RFC 5681 2).
            if ack == self.snd_una and not seg.payload and not seg.flags & (SYN | FIN) \
                    and wnd == self.snd_wnd and S.gt(self.snd_max, self.snd_una):
                self._dupack()
            self._update_window(seg, wnd)
            return True
        # New data acknowledged.
        acked = S.diff(ack, self.snd_una)
        self._rtt_ack(seg)
        self.snd_una = ack
        if S.lt(self.snd_nxt, ack):
            self.snd_nxt = ack
        n = min(len(self.sndbuf), max(0, S.diff(ack, self.buf_seq)))
        if n:
            del self.sndbuf[:n]
            self.buf_seq = S.add(self.buf_seq, n)
        self._congestion_on_ack(acked)
        self.retries = 0
        self.rtt.backoff = 0
        self.t_persist = None
        if self.snd_una == self.snd_max:
            self.t_rtx = None
        else:
            self._arm_rtx(restart=True)
        self._update_window(seg, wnd)
        fin_acked = self.fin_seq is not None and S.gt(ack, self.fin_seq)
        if fin_acked:
            if self.state == FIN_WAIT_1:
                self.state = FIN_WAIT_2
                if self.orphaned:
                    # Linux's tcp_fin_timeout for an orphaned FIN_WAIT_2.
                    self.t_timewait = self.clock() + self.time_wait
            elif self.state == CLOSING:
                self._enter_time_wait()
            elif self.state == LAST_ACK:
                self._close_now()
                return False
        return True

    def _update_window(self, seg, wnd):
        if S.lt(self.snd_wl1, seg.seq) or (self.snd_wl1 == seg.seq and S.le(self.snd_wl2, seg.ack)):
            self.snd_wnd = wnd
            self.snd_wl1, self.snd_wl2 = seg.seq, seg.ack

    def _rtt_ack(self, seg):
        if self.use_ts and seg.tsecr:
            self.rtt.sample(max(0.0, (self._ts() - seg.tsecr) & 0xFFFFFFFF) / 1000.0)
        elif self.rtt_seq is not None and S.gt(seg.ack, self.rtt_seq):
            self.rtt.sample(self.clock() - self.rtt_time)
        if self.rtt_seq is not None and S.gt(seg.ack, self.rtt_seq):
            self.rtt_seq = None

    def _congestion_on_ack(self, acked):
        if self.recover is not None:
            if S.ge(self.snd_una, self.recover):
                self.cwnd = self.ssthresh             # full ack: leave recovery
                self.recover = None
            else:
                self._retransmit_head()               # NewReno partial ack
                self.cwnd = max(self.mss, self.cwnd - acked + self.mss)
            self.dupacks = 0
            return
        self.dupacks = 0
        if self.cwnd < self.ssthresh:
            self.cwnd += min(acked, self.mss)         # slow start
        else:
            self.cwnd += max(1, self.mss * self.mss // self.cwnd)

    def _dupack(self):
        self.dupacks += 1
        if self.recover is not None:
            self.cwnd += self.mss                     # inflate during recovery
            self._output()
        elif self.dupacks == DUPACK_THRESHOLD:
            flight = S.diff(self.snd_max, self.snd_una)
            self.ssthresh = max(flight // 2, 2 * self.mss)
            self.recover = self.snd_max
            self._retransmit_head()
            self.cwnd = self.ssthresh + DUPACK_THRESHOLD * self.mss

    def _send_mss(self):
        """The data a segment can carry now: the MSS less the SACK blocks
        its options will hold (Linux's tcp_current_mss)."""
        if self.sack_ok and self.ooo:
            return max(1, self.mss - 4 - 8 * min(3, len(self.ooo)))
        return self.mss

    def _retransmit_head(self):
        """Resend one segment at snd_una (fast retransmit)."""
        off = S.diff(self.snd_una, self.buf_seq)
        if off < 0 or off >= len(self.sndbuf):
            if self.fin_seq is not None and self.snd_una == self.fin_seq:
                self._emit_data(self.fin_seq, b"", FIN)
            return
        n = min(self._send_mss(), len(self.sndbuf) - off)
        flags = 0
        if self.fin_seq is not None and S.add(self.snd_una, n) == self.fin_seq:
            flags = FIN
        self._emit_data(self.snd_una, bytes(self.sndbuf[off:off + n]), flags)
        self._count("Tcp", "RetransSegs")
        self.retrans_segs += 1
        self.rtt_seq = None

    def _receive_data(self, seg):
        data = seg.payload
        start = seg.seq
        skip = S.diff(self.rcv_nxt, start)
        if skip > 0:
            data = data[skip:]
            start = self.rcv_nxt
        room = max(0, S.diff(self.rcv_adv, start))
        if len(data) > room:
            data = data[:room]
        if not data:
            self._send_ack()
            return
        if start == self.rcv_nxt:
            self.rcvbuf += data
            self.rcv_nxt = S.add(self.rcv_nxt, len(data))
            self._drain_ooo()
            self.ack_pending += 1
            if seg.flags & PSH and self.ack_pending < 2:
                pass
        else:
            self._insert_ooo(start, bytes(data))
            self._send_ack()        # an immediate dupack with SACK blocks

    def _insert_ooo(self, start, data):
        for i, (s, d) in enumerate(self.ooo):
            if s == start and len(d) >= len(data):
                return
            if S.lt(start, s):
                self.ooo.insert(i, (start, data))
                return
        self.ooo.append((start, data))

    def _drain_ooo(self):
        while self.ooo:
            s, d = self.ooo[0]
            end = S.add(s, len(d))
            if S.gt(s, self.rcv_nxt):
                return
            self.ooo.pop(0)
            if S.gt(end, self.rcv_nxt):
                self.rcvbuf += d[S.diff(self.rcv_nxt, s):]
                self.rcv_nxt = end

    def _receive_fin(self):
        self.ooo_fin = None
        self.rcv_nxt = S.add(self.rcv_nxt, 1)
        self.fin_received = True
        self.ack_pending = 0
        self._send_ack()
        if self.state in (SYN_RECEIVED, ESTABLISHED):
            self.state = CLOSE_WAIT
        elif self.state == FIN_WAIT_1:
            if self.fin_seq is not None and S.gt(self.snd_una, self.fin_seq):
                self._enter_time_wait()
            else:
                self.state = CLOSING
        elif self.state == FIN_WAIT_2:
            self._enter_time_wait()

    def _enter_time_wait(self):
        self.state = TIME_WAIT
        self.t_rtx = self.t_persist = self.t_keepalive = self.t_delack = None
        self.t_timewait = self.clock() + self.time_wait
        self.sndbuf = bytearray()

    # ===================================================================== output
    def _rcv_space(self):
        free = self.rcvbuf_size - len(self.rcvbuf) - sum(len(d) for _, d in self.ooo)
        return max(0, min(free, MAX_WINDOW))

    def _window_field(self):
        """The window to advertise, never moving the right edge left."""
        space = self._rcv_space()
        # Receiver SWS avoidance: don't open a sliver of window.
        if space < min(self.mss, self.rcvbuf_size // 2):
            space = 0
        field = min(space >> self.rcv_wscale, 0xFFFF)
        current = max(0, S.diff(self.rcv_adv, self.rcv_nxt))
        if (field << self.rcv_wscale) < current:
            field = min((current + (1 << self.rcv_wscale) - 1) >> self.rcv_wscale, 0xFFFF)
        self.rcv_adv = S.add(self.rcv_nxt, field << self.rcv_wscale)
        return field

    def _segment(self, seqno, flags, payload=b""):
        seg = Segment(self.lport, self.rport, seqno, self.rcv_nxt, flags | ACK,
                      self._window_field(), payload)
        if self.use_ts:
            seg.tsval = self._ts()
            seg.tsecr = self.ts_recent
        if self.sack_ok and self.ooo:
            seg.sack = tuple((s, S.add(s, len(d))) for s, d in self.ooo[:3])
        return seg

    def _send_ack(self):
        if self.state in (CLOSED, LISTEN, SYN_SENT):
            return
        self.ack_pending = 0
        self.t_delack = None
        self._emit(self._segment(self.snd_nxt, 0))

    def _emit_data(self, seqno, payload, flags):
        self.ack_pending = 0
        self.t_delack = None
        self._emit(self._segment(seqno, flags | (PSH if payload else 0), payload))

    def _output(self):
        """Send what the windows, Nagle and the buffer allow."""
        if self.state not in SYNCHRONIZED or self.state == TIME_WAIT:
            return
        sent_any = False
        mss = self._send_mss()
        while True:
            off = S.diff(self.snd_nxt, self.buf_seq)
            if off < 0:
                off = 0
            avail = len(self.sndbuf) - off
            in_flight = S.diff(self.snd_nxt, self.snd_una)
            wnd = min(self.snd_wnd, self.cwnd)
            usable = wnd - in_flight
            if avail > 0:
                n = min(mss, avail, usable)
                if n <= 0:
                    if self.snd_wnd == 0 and in_flight == 0 and self.t_persist is None:
                        self.t_persist = self.clock() + self.rtt.current()
                    break
                if n < mss and n < avail:
                    pass                    # window-limited: send what fits
                elif n < mss and (self.cork or (not self.nodelay and in_flight > 0)):
                    break                   # Nagle: wait for the ACK
                if n < mss and n < avail and n < self.snd_wnd // 2 and in_flight > 0:
                    break                   # sender SWS avoidance
                seqno = self.snd_nxt
                flags = 0
                last = off + n == len(self.sndbuf)
                if last and self.fin_queued and self.fin_seq is None:
                    flags = FIN
                self._emit_data(seqno, bytes(self.sndbuf[off:off + n]), flags)
                self._advance_nxt(n, flags)
                sent_any = True
                continue
            if self.fin_queued and (self.fin_seq is None or S.le(self.snd_nxt, self.fin_seq)) \
                    and avail <= 0:
                self._emit_data(self.snd_nxt, b"", FIN)
                self._advance_nxt(0, FIN)
                sent_any = True
            break
        if sent_any:
            self._arm_rtx()

    def _advance_nxt(self, n, flags):
        seqno = self.snd_nxt
        if self.rtt_seq is None and S.ge(seqno, self.snd_max):
            self.rtt_seq = seqno
            self.rtt_time = self.clock()
        if flags & FIN:
            self.fin_seq = S.add(seqno, n)
            if self.state == ESTABLISHED:
                self.state = FIN_WAIT_1
            elif self.state == CLOSE_WAIT:
                self.state = LAST_ACK
        self.snd_nxt = S.add(seqno, n + (1 if flags & FIN else 0))
        if S.gt(self.snd_nxt, self.snd_max):
            self.snd_max = self.snd_nxt

    def _emit(self, seg):
        self.emit(seg)

    def _ts(self):
        return int(self.clock() * 1000) & 0xFFFFFFFF

    def _count(self, group, field, n=1):
        if self.stats is not None:
            self.stats.inc(group, field, n)

    # ===================================================================== timers
    def _arm_rtx(self, restart=False):
        if self.t_rtx is None or restart:
            self.t_rtx = self.clock() + self.rtt.current()

    def deadline(self):
        ds = [d for d in (self.t_rtx, self.t_delack, self.t_persist, self._keepalive_deadline(),
                          self.t_timewait) if d is not None]
        return min(ds) if ds else None

    def _keepalive_deadline(self):
        if not self.keepalive or self.state not in (ESTABLISHED, CLOSE_WAIT):
            return None
        if self.keep_probes:
            return self.last_probe + self.keepintvl
        return self.last_recv + self.keepidle

    def on_timer(self):
        now = self.clock()
        if self.t_timewait is not None and now >= self.t_timewait:
            self._close_now()
        if self.t_delack is not None and now >= self.t_delack:
            self.t_delack = None
            if self.ack_pending:
                self._send_ack()
        if self.t_rtx is not None and now >= self.t_rtx:
            self.t_rtx = None
            self._retransmit_timeout()
        if self.t_persist is not None and now >= self.t_persist:
            self.t_persist = None
            self._zero_window_probe()
        ka = self._keepalive_deadline()
        if ka is not None and now >= ka:
            self._keepalive_probe()
        self._changed()

    def _retransmit_timeout(self):
        if self.state in (CLOSED, TIME_WAIT):
            return
        self.retries += 1
        limit = MAX_SYN_RETRIES if self.state in (SYN_SENT, SYN_RECEIVED) else MAX_RETRIES
        if self.retries > limit:
            self._fail(ETIMEDOUT)
            return
        self.rtt.back_off()
        self.rtt_seq = None                 # Karn: no samples from retransmits
        self._count("Tcp", "RetransSegs")
        self.retrans_segs += 1
        if self.state in (SYN_SENT, SYN_RECEIVED):
            self._send_syn(ack=self.state == SYN_RECEIVED)
            self._arm_rtx()
            return
        flight = S.diff(self.snd_max, self.snd_una)
        self.ssthresh = max(flight // 2, 2 * self.mss)
        self.cwnd = self.mss
        self.recover = None
        self.dupacks = 0
        self.snd_nxt = self.snd_una         # go back N
        if self.fin_seq is not None and S.le(self.snd_una, self.fin_seq):
            self.fin_seq = None             # the FIN goes again with the data
            if self.state in (FIN_WAIT_1, CLOSING):
                pass
        self._resend_from_una()

    def _resend_from_una(self):
        # Like _output but allowed to resend a FIN while in FIN_WAIT_1/CLOSING/LAST_ACK.
        off = max(0, S.diff(self.snd_una, self.buf_seq))
        n = min(self._send_mss(), len(self.sndbuf) - off)
        if n > 0:
            flags = FIN if self.fin_queued and off + n == len(self.sndbuf) else 0
            self._emit_data(self.snd_una, bytes(self.sndbuf[off:off + n]), flags)
            self.snd_nxt = S.add(self.snd_una, n + (1 if flags else 0))
            if flags:
                self.fin_seq = S.add(self.snd_una, n)
        elif self.fin_queued:
            self._emit_data(self.snd_una, b"", FIN)
            self.fin_seq = self.snd_una
            self.snd_nxt = S.add(self.snd_una, 1)
        if S.gt(self.snd_nxt, self.snd_max):
            self.snd_max = self.snd_nxt
        self.t_rtx = self.clock() + self.rtt.current()

    def _zero_window_probe(self):
        if self.state not in SYNCHRONIZED or self.snd_wnd > 0:
            return
        off = S.diff(self.snd_nxt, self.buf_seq)
        if 0 <= off < len(self.sndbuf):
            # One byte past the window (RFC 9293 3.8.6.1).
            self._emit_data(self.snd_nxt, bytes(self.sndbuf[off:off + 1]), 0)
            self._advance_nxt(1, 0)
            self._arm_rtx()
        else:
            self.rtt.back_off()
            self.t_persist = self.clock() + self.rtt.current()

    def _keepalive_probe(self):
        if self.keep_probes >= self.keepcnt:
            self._fail(ETIMEDOUT)
            return
        self.keep_probes += 1
        self.last_probe = self.clock()
        self._emit(self._segment(S.add(self.snd_una, -1), 0))

    # ===================================================================== closing
    def _fail(self, err):
        self.error = err
        self._close_now(err)

    def _close_now(self, err=0):
        if err and not self.error:
            self.error = err
        self.state = CLOSED
        self.t_rtx = self.t_delack = self.t_persist = self.t_timewait = None
        self.keepalive = False
        self.ooo = []

    def _changed(self):
        self.on_event()
        self.on_timer_change()

    def take_error(self):
        err, self.error = self.error, 0
        return err

    def __repr__(self):
        return f"<Tcb {self.lport}->{self.rport} {self.state}>"


class _Error(Exception):
    def __init__(self, errno):
        super().__init__(errno)
        self.errno = errno


TcpError = _Error
__all__ = ["Tcb", "TcpError", "ENOTCONN"]
