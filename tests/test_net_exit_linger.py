"""Data is not lost at exit (the kernel keeps sending after the process is
gone, as Linux does), and SO_LINGER with a timeout makes close() wait for
the peer's acknowledgement; both checked against the host's kernel."""
import socket
import threading
import time
import zlib

import pytest

from harness import exit_code, test_env as _env

MIB = 1 << 20
BULK = 8 * MIB          # more than the host socket buffers take: the NAT must keep sending


class _Sink(threading.Thread):
    """Accept one connection on 127.0.0.1 and read it to EOF."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ls = socket.socket()
        # A small receive buffer and a slow reader: most of the data is
        # still inside akuma (the NAT, the guest's socket) when the guest exits.
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.ls.settimeout(60)
        self.port = self.ls.getsockname()[1]
        self.data = bytearray()
        self.eof = False

    def run(self):
        c, _ = self.ls.accept()
        c.settimeout(60)
        with c:
            while True:
                b = c.recv(16384)
                time.sleep(0.002)
                if not b:
                    self.eof = True
                    break
                self.data += b
        self.ls.close()


def _wrote(stdout):
    words = stdout.decode().split()
    assert words[:1] == ["wrote"] and words[2] == "crc", stdout
    return int(words[1]), int(words[3])


def test_guest_exits_right_after_writing_and_the_host_gets_every_byte(guest, akuma):
    """net_exit writes 1 MiB to a host server through 10.0.2.2 and _exit()s
    without close or shutdown: the stack must still deliver the tail."""
    sink = _Sink()
    sink.start()
    got = akuma("run", guest("net_exit"), "send-exit", "10.0.2.2", str(sink.port), str(BULK))
    assert exit_code(got) == 0, got.stderr
    assert b"Traceback" not in got.stderr
    sink.join(60)
    n, crc = _wrote(got.stdout)
    assert n == BULK
    assert len(sink.data) == BULK and zlib.crc32(sink.data) == crc
    assert sink.eof                      # the FIN followed the data


CASES = [("linger", "5", "0"), ("linger", "0", "0"), ("linger", "1", "0", "stall")]


@pytest.mark.parametrize("args", CASES, ids=["-".join(c[1:]) for c in CASES])
def test_so_linger_close_matches_qemu(guest, qemu, akuma, args):
    """linger 5: when close() returns every byte and the FIN are acknowledged
    (queued in the slow server's kernel).  linger 0: a reset, the server
    misses data.  A stalled server: close returns at the timeout and the
    orphan still delivers everything (Linux sends no reset then)."""
    exe = guest("net_exit")
    ref = qemu(exe, *args, env=_env())
    got = akuma("run", exe, *args)
    assert b"Traceback" not in got.stderr
    assert exit_code(ref) == 0, ref.stderr
    assert got.stdout == ref.stdout, got.stderr
    assert exit_code(got) == 0
