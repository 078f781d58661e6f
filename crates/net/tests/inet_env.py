"""A Stack with a manual clock for socket-level tests (no kernel)."""
from akuma.net.inet import make_socket
from akuma.net.socket import Message
from akuma.net.stack import Stack


class Env:
    def __init__(self):
        self.now = 5000.0
        self.stack = Stack(clock=lambda: self.now)
        self.woken = []
        self.stack.wake = lambda sock: self.woken.append(sock)

    def sock(self, type_, proto=0, flags=0):
        return make_socket(self.stack, type_, proto, flags)

    def advance(self, seconds):
        end = self.now + seconds
        while True:
            d = self.stack.next_deadline()
            if d is None or d > end:
                break
            self.now = max(self.now, d)
            self.stack.run_timers()
        self.now = end


def send(s, data, flags=0, address=None):
    return s.sendmsg([memoryview(data)], Message(address=address), flags)


def recv(s, n, flags=0):
    buf = bytearray(n)
    msg = Message()
    got = s.recvmsg([memoryview(buf)], msg, flags)
    return bytes(buf[:min(got, n)]), msg
