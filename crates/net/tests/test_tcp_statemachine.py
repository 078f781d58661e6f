"""The sans-I/O TCP state machine, two endpoints on a simulated link."""
import pytest

from akuma.abi.errors import ECONNREFUSED, ECONNRESET, ETIMEDOUT
from akuma.net.packets import ACK, FIN, RST, SYN, Segment, tcp_options
from akuma.net.tcp import tcb as T
from tcp_pair import Pair


def transfer(p, data, chunk=7000):
    """Push ``data`` a->b and read it at b; returns what b read."""
    got = bytearray()
    sent = 0
    for _ in range(200000):
        if sent < len(data):
            sent += p.a.send(data[sent:sent + chunk])
        got += p.b.recv(1 << 20)
        if len(got) == len(data):
            return bytes(got)
        if not p.step():
            break
    return bytes(got)


def test_three_way_handshake_and_options():
    p = Pair(mss=1200)
    p.connect()
    syn = p.log[0][1]
    assert syn.flags == SYN and syn.mss == 1200 and syn.wscale == 7 and syn.sack_ok
    assert syn.tsval is not None
    synack = p.log[1][1]
    assert synack.flags == SYN | ACK and synack.ack == syn.seq + 1
    assert p.a.use_ts and p.b.use_ts and p.a.snd_wscale == 7 and p.b.snd_wscale == 7
    assert p.listener.accepted == [p.b]


def _largest_segment(p, side):
    """The largest data plus options a side sent (what must fit its MTU)."""
    return max(len(seg.payload) + len(tcp_options(seg)) for s, seg in p.log
               if s == side and seg.payload)


def test_segments_with_options_fit_the_advertised_mss():
    # The timestamps every segment carries come out of the MSS: a full
    # segment is MSS bytes of data plus options, so it fits the peer's MTU.
    p = Pair(mss=1000)
    p.connect()
    assert p.a.use_ts and p.a.mss == 988
    data = bytes(range(256)) * 400
    assert transfer(p, data) == data
    assert _largest_segment(p, 0) == 1000


def test_sack_blocks_come_out_of_the_segment_too():
    # b has out-of-order data (SACK blocks in its options) while it sends.
    first = [True]

    def drop(side, seg):
        if side == 0 and seg.payload and first[0]:
            first[0] = False
            return True
        return False
    p = Pair(mss=1000, drop=drop)
    p.connect()
    p.a.send(bytes(5000))
    while not p.b.ooo:
        assert p.step()
    p.b.send(bytes(5000))
    for _ in range(200):
        p.b.recv(1 << 20)
        p.a.recv(1 << 20)
        if not p.step():
            break
    assert any(seg.sack and seg.payload for s, seg in p.log if s == 1)
    assert _largest_segment(p, 1) <= 1000


def test_bulk_transfer_in_order():
    p = Pair()
    p.connect()
    data = bytes(range(256)) * 2000
    assert transfer(p, data) == data
    assert p.a.retrans_segs == 0


@pytest.mark.parametrize("every", [3, 7, 20])
def test_transfer_with_loss_is_exact(every):
    count = [0]

    def drop(side, seg):
        if side == 0 and seg.payload:
            count[0] += 1
            return count[0] % every == 0
        return False
    p = Pair(drop=drop)
    p.connect()
    data = bytes((i * 7) & 255 for i in range(300000))
    assert transfer(p, data) == data
    assert p.a.retrans_segs > 0


def test_fast_retransmit_recovers_single_loss_without_timeout():
    dropped = []
    count = [0]

    def drop(side, seg):
        if side == 0 and seg.payload:
            count[0] += 1
            if count[0] == 15:
                dropped.append(seg.seq)
                return True
        return False
    p = Pair(delay=0.05, drop=drop)
    p.connect()
    data = bytes(200000)
    assert transfer(p, data) == data
    assert dropped
    # The retransmission came from three duplicate ACKs, not the timer: the
    # RTO never backed off.
    assert p.a.rtt.backoff == 0 and p.a.retrans_segs >= 1


def test_reorder_and_sack_blocks():
    held = []

    def drop(side, seg):
        # Delay the first data segment by holding it and re-sending it later.
        if side == 0 and seg.payload and not held:
            held.append(seg)
            return True
        return False
    p = Pair(delay=0.01, drop=drop)
    p.connect()
    p.a.nodelay = True
    p.a.send(b"x" * 3000)
    p.run(lambda: any(s.sack for side, s in p.log if side == 1))
    sacked = [s for side, s in p.log if side == 1 and s.sack]
    assert sacked[0].sack[0][0] == held[0].seq + len(held[0].payload)
    p.b.input(held[0])
    assert p.b.recv(10000) == b"x" * 3000


def test_rtt_estimate_follows_link_delay():
    p = Pair(delay=0.1)
    p.connect()
    transfer(p, bytes(50000))
    assert 0.15 < p.a.rtt.srtt < 0.3
    assert p.a.rtt.rto >= p.a.rtt.srtt


def test_rto_backs_off_exponentially_and_gives_up():
    p = Pair(drop=lambda side, seg: side == 0 and bool(seg.payload))
    p.connect()
    p.a.send(b"hello")
    times = []
    for _ in range(400):
        before = p.a.retrans_segs
        if not p.step():
            break
        if p.a.retrans_segs != before:
            times.append(p.clock.now)
        if p.a.state == T.CLOSED:
            break
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(g2 >= g1 * 1.9 or g2 >= 119 for g1, g2 in zip(gaps, gaps[1:]))
    assert p.a.state == T.CLOSED and p.a.error == ETIMEDOUT


def test_syn_to_nobody_times_out_after_syn_retries():
    p = Pair(drop=lambda side, seg: True)
    p.a.open_active()
    p.run(lambda: p.a.state == T.CLOSED)
    syns = [s for side, s in p.log if s.flags & SYN]
    assert len(syns) == T.MAX_SYN_RETRIES + 1
    assert p.a.error == ETIMEDOUT


def test_rst_answer_to_syn_refuses():
    p = Pair()
    p.a.open_active()
    syn = p.log[0][1]
    p.a.input(Segment(80, 1000, 0, syn.seq + 1, RST | ACK, 0))
    assert p.a.state == T.CLOSED and p.a.error == ECONNREFUSED


def test_rst_in_window_resets_and_out_of_window_is_ignored():
    p = Pair()
    p.connect()
    a = p.a
    a.input(Segment(80, 1000, a.rcv_nxt + 5, 0, RST, 0))     # not exact: challenge ACK
    assert a.state == T.ESTABLISHED
    a.input(Segment(80, 1000, a.rcv_nxt + 10 ** 8, 0, RST, 0))
    assert a.state == T.ESTABLISHED
    a.input(Segment(80, 1000, a.rcv_nxt, 0, RST, 0))
    assert a.state == T.CLOSED and a.error == ECONNRESET


def test_orderly_close_both_sides_and_time_wait():
    p = Pair()
    p.connect()
    p.a.send(b"bye")
    p.a.shutdown_write()
    p.run(lambda: p.b.fin_received and p.a.state == T.FIN_WAIT_2)
    assert p.b.recv(10) == b"bye" and p.b.state == T.CLOSE_WAIT
    assert p.a.state == T.FIN_WAIT_2
    # Half-close: b can still send to a.
    p.b.send(b"still here")
    p.run(lambda: p.a.recv_available() == 10)
    assert p.a.recv(100) == b"still here"
    p.b.close()
    p.run(lambda: p.b.state == T.CLOSED)
    assert p.a.state == T.TIME_WAIT
    p.run(lambda: p.a.state == T.CLOSED)
    assert p.clock.now >= T.TIME_WAIT_SECONDS


def test_simultaneous_close_goes_through_closing():
    p = Pair()
    p.connect()
    p.a.shutdown_write()
    p.b.shutdown_write()
    p.run(lambda: p.a.state in (T.TIME_WAIT, T.CLOSED) and p.b.state in (T.TIME_WAIT, T.CLOSED))
    assert p.a.state == T.TIME_WAIT and p.b.state == T.TIME_WAIT


def test_fin_lost_is_retransmitted():
    dropped = []

    def drop(side, seg):
        if side == 0 and seg.flags & FIN and not dropped:
            dropped.append(seg)
            return True
        return False
    p = Pair(drop=drop)
    p.connect()
    p.a.shutdown_write()
    p.run(lambda: p.b.fin_received and p.a.state == T.FIN_WAIT_2)
    assert dropped and p.a.state == T.FIN_WAIT_2


def test_close_with_unread_data_sends_rst():
    p = Pair()
    p.connect()
    p.a.send(b"unread")
    p.run(lambda: p.b.recv_available())
    p.b.close()
    assert p.b.state == T.CLOSED
    p.run(lambda: p.a.state == T.CLOSED)
    assert p.a.error == ECONNRESET


def test_linger_zero_aborts_with_rst():
    p = Pair()
    p.connect()
    p.a.close(linger_abort=True)
    assert p.log[-1][1].flags & RST
    p.run(lambda: p.b.state == T.CLOSED)
    assert p.b.error == ECONNRESET


def test_nagle_holds_small_segments_and_nodelay_does_not():
    p = Pair(delay=0.1)
    p.connect()
    p.a.send(b"a")
    p.a.send(b"b")
    p.a.send(b"c")
    data_segs = [s for side, s in p.log if side == 0 and s.payload]
    assert [bytes(s.payload) for s in data_segs] == [b"a"]
    p.run(lambda: p.b.recv_available() == 3)
    q = Pair(delay=0.1)
    q.connect()
    q.a.nodelay = True
    for c in b"abc":
        q.a.send(bytes([c]))
    assert len([s for side, s in q.log if side == 0 and s.payload]) == 3


def test_delayed_ack_acks_every_second_segment_or_after_timeout():
    p = Pair(delay=0.001)
    p.connect()
    p.a.nodelay = True
    p.a.send(b"x")
    n_before = len(p.log)
    p.step()                       # delivered; b holds its ACK
    assert not [s for side, s in p.log[n_before:] if side == 1]
    t_recv = p.clock.now
    p.run(lambda: [s for side, s in p.log[n_before:] if side == 1])
    assert p.clock.now - t_recv == pytest.approx(T.DELACK, abs=0.005)


def test_zero_window_then_window_update_and_persist_probe():
    p = Pair(rcvbuf=4000, mss=1000)
    p.connect()
    p.a.send(b"z" * 20000)
    p.run(lambda: p.a.snd_wnd == 0 and not p.wire)
    assert p.b.recv_available() >= 3000
    # Nothing read for a while: the sender probes, the connection survives.
    for _ in range(30):
        p.step()
    assert p.a.state == T.ESTABLISHED
    got = bytearray()
    p.run(lambda: (got.extend(p.b.recv(100000)), len(got) == 20000)[1])
    assert bytes(got) == b"z" * 20000


def test_window_scaling_lets_more_than_64k_in_flight():
    p = Pair(rcvbuf=1 << 20, sndbuf=1 << 20, mss=9000, delay=0.05)
    p.connect()
    p.a.send(b"warm-up")
    p.run(lambda: p.b.recv(100))
    p.run(lambda: not p.wire)
    p.a.cwnd = 1 << 20
    p.a.send(bytes(600000))
    flight = p.a.unacked()
    assert flight > 65535


def test_keepalive_detects_dead_peer():
    p = Pair()
    p.connect()
    p.a.keepalive = True
    p.a.keepidle, p.a.keepintvl, p.a.keepcnt = 10, 2, 3
    p.drop = lambda side, seg: True
    p.run(lambda: p.a.state == T.CLOSED)
    probes = [s for side, s in p.log if side == 0 and s.flags == ACK and s.seq == p.a.snd_una - 1]
    assert len(probes) == 3 and p.a.error == ETIMEDOUT


def test_keepalive_probe_answered_keeps_connection():
    p = Pair()
    p.connect()
    p.a.keepalive = True
    p.a.keepidle, p.a.keepintvl, p.a.keepcnt = 10, 2, 3
    start = p.clock.now
    p.run(lambda: p.clock.now > start + 100)
    assert p.a.state == T.ESTABLISHED


def test_challenge_ack_for_syn_in_established():
    p = Pair()
    p.connect()
    n = len(p.log)
    p.b.input(Segment(1000, 80, 12345, 0, SYN, 1000))
    assert p.b.state == T.ESTABLISHED
    assert p.log[n][1].flags == ACK


def test_old_duplicate_segment_is_acked_and_ignored():
    p = Pair()
    p.connect()
    p.a.send(b"abc")
    p.run(lambda: p.b.recv_available() == 3)
    first = [s for side, s in p.log if side == 0 and s.payload][0]
    p.b.input(first)
    assert p.b.recv(10) == b"abc"
