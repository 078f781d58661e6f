"""The kernel's SSH server on a booted test image, with the OpenSSH client:
exec sessions, a refused key, scp and sftp against the image's VFS, 64
concurrent sessions, ssh -L / -W (direct-tcpip) to a guest server and ssh -R
(tcpip-forward) to a host server.  (PTY sessions: test_ssh_kernel_pty.py;
passwords: test_ssh_kernel_password.py.)"""
import concurrent.futures
import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from sshguest import BootedSystem, free_port, make_key

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client")


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    booted = BootedSystem(tmp_path_factory.mktemp("sshkernel"))
    yield booted
    booted.stop()


def test_exec_identity_home_and_status(system):
    got = system.ssh("id; echo $HOME; pwd; echo to-stderr >&2; exit 3")
    assert got.returncode == 3, got.stderr
    assert got.stdout.decode().splitlines() == [
        "uid=1000(user) gid=1000(user) groups=1000(user),100(users)", "/home/user", "/home/user"]
    assert got.stderr == b"to-stderr\n"


def test_root_login_and_environment(system):
    got = system.ssh("id -u; echo $USER $LOGNAME $SHELL; echo $PATH", user="root")
    assert got.returncode == 0, got.stderr
    lines = got.stdout.decode().splitlines()
    assert lines[0] == "0"
    assert lines[1] == "root root /bin/sh"
    assert "/sbin" in lines[2]


def test_stdin_is_piped_and_eof_ends_it(system):
    data = os.urandom(40_000)
    got = system.ssh("cat", input=data)
    assert got.returncode == 0, got.stderr
    assert got.stdout == data
    got = system.ssh("wc -l", input=b"a\nb\nc\n")
    assert got.stdout.strip() == b"3"


def test_exit_signal(system):
    got = system.ssh("kill -TERM $$")
    assert got.returncode == 255          # OpenSSH reports a signal death as 255
    assert b"Killed by signal" in got.stderr or got.stderr == b""


def test_wrong_key_is_refused(system, tmp_path):
    other = make_key(str(tmp_path), "id_other")
    got = subprocess.run(system.ssh_args("user", other) + ["true"], capture_output=True,
                         timeout=120, stdin=subprocess.DEVNULL)
    assert got.returncode == 255
    assert b"Permission denied" in got.stderr
    got = system.ssh("echo still-serving")
    assert got.stdout == b"still-serving\n"


def test_user_cannot_write_outside_their_permissions(system):
    got = system.ssh("echo x > /etc/passwd")
    assert got.returncode != 0
    assert b"ermission denied" in got.stderr


def test_scp_up_and_down(system, tmp_path):
    src = tmp_path / "up.bin"
    payload = os.urandom(200_000)
    src.write_bytes(payload)
    args = system.scp_args()
    got = subprocess.run(args + [str(src), "user@127.0.0.1:up.bin"], capture_output=True,
                         timeout=120, stdin=subprocess.DEVNULL)
    assert got.returncode == 0, got.stderr
    check = system.ssh("stat -c '%s %u %a' up.bin; sha256sum up.bin")
    size, uid, mode = check.stdout.decode().splitlines()[0].split()
    assert (int(size), uid, mode) == (len(payload), "1000", "644")
    import hashlib
    assert hashlib.sha256(payload).hexdigest() in check.stdout.decode()
    down = tmp_path / "down.bin"
    system.ssh("head -c 40000 up.bin > part.bin")
    got = subprocess.run(args + ["user@127.0.0.1:part.bin", str(down)], capture_output=True,
                         timeout=120, stdin=subprocess.DEVNULL)
    assert got.returncode == 0, got.stderr
    assert down.read_bytes() == payload[:40_000]
    # scp into a directory the user may not write fails
    got = subprocess.run(args + [str(src), "user@127.0.0.1:/etc/"], capture_output=True,
                         timeout=120, stdin=subprocess.DEVNULL)
    assert got.returncode != 0


def test_sftp_batch(system, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"hello sftp\n")
    batch = tmp_path / "batch"
    batch.write_text(f"mkdir d\ncd d\nput {tmp_path / 'a.txt'} a.txt\nrename a.txt b.txt\n"
                     f"chmod 600 b.txt\nsymlink b.txt l\nls -l\nget b.txt {tmp_path / 'b.txt'}\n"
                     "-rm nonexistent\n")
    cmd = ["sftp", "-F", "/dev/null", "-P", str(system.port), "-i", system.key,
           "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
           "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
           "-b", str(batch), "user@127.0.0.1"]
    got = subprocess.run(cmd, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "b.txt").read_bytes() == b"hello sftp\n"
    check = system.ssh("cd d && stat -c '%n %a %U' b.txt && readlink l && cat l")
    assert check.stdout.decode().splitlines() == ["b.txt 600 user", "b.txt", "hello sftp"]


CONCURRENT = 64     # the figure: 64 OpenSSH clients at once


def test_concurrent_sessions(system):
    """64 `ssh host CMD` at once, each with its own command, output, stderr
    and exit status."""
    def one(i):
        return system.ssh(f"echo session-{i}; echo err-{i} >&2; exit {i % 7}", timeout=120)
    with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as pool:
        results = list(pool.map(one, range(CONCURRENT)))
    for i, got in enumerate(results):
        assert (got.returncode, got.stdout, got.stderr) == \
            (i % 7, f"session-{i}\n".encode(), f"err-{i}\n".encode()), got.stderr


def test_bulk_output(system):
    got = system.ssh("head -c 1000000 /dev/zero", timeout=30)
    assert (got.returncode, len(got.stdout)) == (0, 1_000_000)


def test_session_over_the_guest_tcp_stack(system):
    """Forwarded host connections reach the server as host sockets (no
    virtual wire); a connection from inside the guest crosses the guest's
    TCP stack.  ssh -W to 127.0.0.1:22 opens one from the kernel's side, and
    a second OpenSSH session runs over it end to end."""
    hop = " ".join(system.ssh_args()[:-1] + ["-W", "127.0.0.1:22", "user@127.0.0.1"])
    args = system.ssh_args() + [
        "dd if=/dev/zero bs=65536 count=64 2>/dev/null; echo; netstat -tn; exit 7"]
    args[-2:-1] = ["-o", f"ProxyCommand={hop}", "user@127.0.0.1"]
    got = subprocess.run(args, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert got.returncode == 7, got.stderr
    assert got.stdout[:4 << 20] == bytes(4 << 20)
    # The inner connection is a guest TCP connection to port 22.
    assert b"127.0.0.1:22" in got.stdout[4 << 20:], got.stdout[4 << 20:]


def test_login_and_drop_are_logged(system):
    log = system.read_log()
    assert "ssh: user logged in from" in log
    assert "closed by the client" in log


def _forward_until_ready(system, local_port, connect_and_talk, deadline=60):
    """Retry ``connect_and_talk`` until the guest end is listening."""
    end = time.monotonic() + deadline
    while True:
        try:
            return connect_and_talk()
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.3)


def test_local_forward_reaches_a_guest_server(system, tmp_path):
    """ssh -L: a host client, through the tunnel (direct-tcpip), to busybox
    nc listening on guest 127.0.0.1:7000."""
    server = subprocess.Popen(system.ssh_args() + [
        "printf from-guest | nc -l -p 7000 > /tmp/nc-got; echo status=$?"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    local = free_port()
    tunnel = subprocess.Popen(system.ssh_args("user", None, "-N", "-o", "ExitOnForwardFailure=yes",
                                              "-L", f"{local}:127.0.0.1:7000"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL)
    payload = os.urandom(100_000)

    def talk():
        with socket.create_connection(("127.0.0.1", local), timeout=30) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while chunk := s.recv(65536):
                got += chunk
        if got != b"from-guest":         # the channel opened before nc listened
            raise ConnectionError(got)
        return got

    try:
        assert _forward_until_ready(system, local, talk) == b"from-guest"
        out, err = server.communicate(timeout=60)
        assert (server.returncode, out) == (0, b"status=0\n"), err
    finally:
        tunnel.terminate()
        tunnel.wait(30)
        server.kill()
        server.wait()
    got = system.ssh("sha256sum < /tmp/nc-got")
    assert got.stdout.split()[0].decode() == hashlib.sha256(payload).hexdigest()


def test_direct_tcpip_to_a_closed_port_is_refused(system):
    """ssh -W to a guest port nobody listens on: the open fails, the
    connection stays usable."""
    got = subprocess.run(system.ssh_args("user", None, "-W", "127.0.0.1:7999"), capture_output=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert got.returncode == 255
    assert b"forwarding failed" in got.stderr, got.stderr
    assert system.ssh("echo still-serving").stdout == b"still-serving\n"


def test_remote_forward_reaches_a_host_server(system):
    """ssh -R: a guest client (busybox nc) to guest port 7100, forwarded
    (tcpip-forward, forwarded-tcpip) to a server on the host's 127.0.0.1."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    seen = []

    def serve():
        for _ in range(2):
            conn, _addr = listener.accept()
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                seen.append(data)
                conn.sendall(b"host-says:" + data.upper())
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        host_port = listener.getsockname()[1]
        got = system.ssh("echo ping-1 | nc 127.0.0.1 7100; echo ping-2 | nc 127.0.0.1 7100",
                         options=("-o", "ExitOnForwardFailure=yes",
                                  "-R", f"7100:127.0.0.1:{host_port}"))
        assert got.returncode == 0, got.stderr
        assert got.stdout == b"host-says:PING-1\nhost-says:PING-2\n"
        assert seen == [b"ping-1\n", b"ping-2\n"]
    finally:
        listener.close()
    # the listener went away with the connection that asked for it
    got = system.ssh("echo x | nc 127.0.0.1 7100; echo status=$?")
    assert got.stdout == b"status=1\n", (got.stdout, got.stderr)
