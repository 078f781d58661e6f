"""Drive ServerConnection over host TCP sockets with asyncio.

Used by the tests and benchmarks (with ``hostbackend.HostBackend``); the
kernel has its own driver on its TCP stack.  One asyncio Protocol per
connection: bytes in -> receive_data, data_to_send -> transport.write, the
connection's next_deadline -> a loop timer calling tick.
"""
import asyncio
import logging

from .connection import ServerConnection

log = logging.getLogger("akuma.ssh")


class _SshProtocol(asyncio.Protocol):
    def __init__(self, server):
        self.server = server
        self.loop = server.loop
        self.transport = None
        self.conn = None
        self._timer = None

    def connection_made(self, transport):
        self.transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self.conn = ServerConnection(self.server.config, self.server.backend, clock=self.loop.time,
                                     peer=f"{host}:{port}")
        self.conn.on_output = self._flush
        self.server.connections.add(self)
        self._flush()

    def data_received(self, data):
        self.conn.receive_data(data)
        self._flush()

    def eof_received(self):
        self.conn.receive_eof()
        return False

    def connection_lost(self, exc):
        self.conn.connection_lost()
        self.server.connections.discard(self)
        if self._timer is not None:
            self._timer.cancel()

    def _flush(self):
        if self.transport.is_closing():
            return
        out = self.conn.data_to_send()
        if out:
            self.transport.write(out)
        if self.conn.closed:
            self.transport.close()
        else:
            self._schedule()

    def _schedule(self):
        deadline = self.conn.next_deadline()
        if self._timer is not None:
            if deadline is not None and self._timer.when() == deadline:
                return
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self):
        self._timer = None
        self.conn.tick()
        self._flush()


class HostServer:
    """An SSH server on a host TCP port (127.0.0.1 and port 0 by default)."""

    def __init__(self, config, backend):
        self.config = config
        self.backend = backend
        self.loop = None
        self.server = None
        self.connections = set()
        self.port = None

    async def start(self, host="127.0.0.1", port=0):
        self.loop = asyncio.get_running_loop()
        self.server = await self.loop.create_server(lambda: _SshProtocol(self), host, port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self):
        self.server.close()
        for protocol in list(self.connections):
            protocol.conn.disconnect()
            protocol._flush()
        await self.server.wait_closed()
