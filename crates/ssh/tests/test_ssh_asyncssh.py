"""Scripted checks with asyncssh as the client: exit-signal, env, pty and
window-change, stdin EOF, and port forwarding both ways (loopback only)."""
import asyncio

import pytest

from ssh_fixtures import ServerThread

asyncssh = pytest.importorskip("asyncssh")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = ServerThread(tmp_path_factory.mktemp("sshd"))
    yield s
    s.stop()


def run(server, body):
    async def main():
        async with asyncssh.connect("127.0.0.1", server.port, username="user", known_hosts=None,
                                    client_keys=[server.client_keys[0]]) as conn:
            return await asyncio.wait_for(body(conn), 60)
    return asyncio.run(main())


def test_exit_signal(server):
    result = run(server, lambda conn: conn.run("kill -TERM $$"))
    assert result.exit_signal[0] == "TERM" and result.returncode == -15


def test_env_and_stdin_eof(server):
    result = run(server, lambda conn: conn.run("echo $GREETING; wc -c", env={"GREETING": "hi"},
                                                input="abc"))
    assert result.stdout.split() == ["hi", "3"] and result.exit_status == 0


def test_pty_size_and_window_change(server):
    async def body(conn):
        process = await conn.create_process(term_type="xterm", term_size=(80, 24))
        process.stdin.write("stty size\n")
        await process.stdout.readuntil("24 80")
        process.change_terminal_size(120, 50)
        process.stdin.write("stty size; tty\n")
        await process.stdout.readuntil("50 120")
        tty = await process.stdout.readuntil("/dev/pts/")   # `tty` names the session's pty
        process.stdin.write("exit 5\n")
        await process.wait_closed()
        return process.exit_status, tty
    status, tty = run(server, body)
    assert status == 5 and "/dev/pts/" in tty


async def _echo_server():
    async def echo(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
        writer.close()
    srv = await asyncio.start_server(echo, "127.0.0.1", 0)
    return srv, srv.sockets[0].getsockname()[1]


async def _round_trip(port, payload):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    writer.write_eof()
    data = await reader.read()
    writer.close()
    return data


def test_local_forwarding(server):
    payload = bytes(range(256)) * 1000

    async def body(conn):
        echo, echo_port = await _echo_server()
        listener = await conn.forward_local_port("127.0.0.1", 0, "127.0.0.1", echo_port)
        data = await _round_trip(listener.get_port(), payload)
        listener.close()
        echo.close()
        return data
    assert run(server, body) == payload


def test_remote_forwarding(server):
    payload = b"through the tunnel" * 5000

    async def body(conn):
        echo, echo_port = await _echo_server()
        listener = await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", echo_port)
        data = await _round_trip(listener.get_port(), payload)
        listener.close()
        echo.close()
        return data
    assert run(server, body) == payload


def test_direct_tcpip_to_closed_port_fails_cleanly(server):
    async def body(conn):
        with pytest.raises(asyncssh.ChannelOpenError) as e:
            await conn.open_connection("127.0.0.1", 1)
        return e.value.code
    assert run(server, body) == asyncssh.OPEN_CONNECT_FAILED
