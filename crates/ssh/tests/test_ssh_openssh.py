"""The OpenSSH client (ssh, scp, sftp, ssh-keyscan) against the sans-I/O
server on a loopback port, backed by host processes and a temp directory."""
import os
import subprocess

import pytest

from ssh_fixtures import ServerThread

pytestmark = pytest.mark.skipif(subprocess.run(["which", "ssh"], capture_output=True).returncode != 0,
                                reason="OpenSSH client not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = ServerThread(tmp_path_factory.mktemp("sshd"),
                     key_kinds=(("ed25519", None), ("rsa", 2048), ("ecdsa", 256)))
    yield s
    s.stop()


def test_exec_separates_stdout_stderr_and_returns_status(server):
    r = server.ssh("echo out; echo err >&2; exit 7")
    assert (r.returncode, r.stdout, r.stderr) == (7, b"out\n", b"err\n")


def test_stdin_is_delivered_and_eof_ends_it(server):
    data = os.urandom(300_000)
    r = server.ssh("cat; echo done >&2", input=data)
    assert r.returncode == 0 and r.stdout == data and r.stderr == b"done\n"


@pytest.mark.parametrize("key", ["id_ed25519", "id_rsa2048", "id_ecdsa256"])
def test_publickey_types(server, key):
    r = server.ssh("echo ok", key=os.path.join(server.tmp, key))
    assert r.returncode == 0 and r.stdout == b"ok\n", r.stderr


@pytest.mark.parametrize("rsa_alg", ["rsa-sha2-256", "rsa-sha2-512"])
def test_rsa_signature_algorithms(server, rsa_alg):
    r = server.ssh("echo ok", "-o", f"PubkeyAcceptedAlgorithms={rsa_alg}",
                   key=os.path.join(server.tmp, "id_rsa2048"))
    assert r.returncode == 0 and r.stdout == b"ok\n", r.stderr


def test_unknown_key_is_refused(server, tmp_path):
    other = str(tmp_path / "other")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other], check=True)
    r = server.ssh("echo ok", key=other)
    assert r.returncode == 255 and b"Permission denied (publickey)" in r.stderr


COMBOS = ([(c, m) for c in ("aes128-ctr", "aes256-ctr") for m in (
    "hmac-sha2-256", "hmac-sha2-512", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com")]
    + [(c, None) for c in ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
                           "chacha20-poly1305@openssh.com")])


@pytest.mark.parametrize("kex", ["curve25519-sha256", "curve25519-sha256@libssh.org"])
@pytest.mark.parametrize("cipher,mac", COMBOS)
def test_cipher_mac_kex_combinations(server, cipher, mac, kex):
    opts = ["-c", cipher, "-o", f"KexAlgorithms={kex}"] + (["-m", mac] if mac else [])
    payload = os.urandom(100_000)
    r = server.ssh("cat", *opts, input=payload)
    assert r.returncode == 0 and r.stdout == payload, r.stderr


def test_client_initiated_rekey(server):
    r = server.ssh("head -c 5000000 /dev/zero", "-o", "RekeyLimit=1M", "-c", "aes128-ctr")
    assert r.returncode == 0 and r.stdout == bytes(5_000_000), r.stderr


def test_server_initiated_rekey_by_bytes(tmp_path):
    s = ServerThread(tmp_path, rekey_bytes=1 << 20)
    try:
        data = os.urandom(3_000_000)
        r = s.ssh("cat", input=data)
        assert r.returncode == 0 and r.stdout == data, r.stderr
    finally:
        s.stop()


def test_keyscan_reports_the_host_key(server):
    r = subprocess.run(["ssh-keyscan", "-p", str(server.port), "-t", "ed25519", "127.0.0.1"],
                       capture_output=True, timeout=30)
    key_type, blob = server.host_key.public_line().split()[:2]
    assert f"{key_type} {blob}".encode() in r.stdout


def test_scp_round_trip(server, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(1_500_000))
    target = "user@127.0.0.1:/up.bin"
    base = ["scp", "-q", *server.ssh_args(), "-P", str(server.port)]
    subprocess.run([*base, str(src), target], check=True, timeout=60)
    assert (open(os.path.join(server.sftp_root, "up.bin"), "rb").read() == src.read_bytes())
    subprocess.run([*base, target, str(tmp_path / "down.bin")], check=True, timeout=60)
    assert (tmp_path / "down.bin").read_bytes() == src.read_bytes()


def test_sftp_batch(server, tmp_path):
    local = tmp_path / "local.txt"
    local.write_bytes(b"hello sftp\n")
    batch = tmp_path / "batch"
    batch.write_text(f"""mkdir /d
cd /d
put {local} a.txt
rename a.txt b.txt
symlink b.txt link.txt
chmod 600 b.txt
ls -l
get link.txt {tmp_path / 'back.txt'}
rm link.txt
df /
""")
    r = subprocess.run(["sftp", *server.ssh_args(), "-P", str(server.port), "-b", str(batch),
                        "user@127.0.0.1"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back.txt").read_bytes() == b"hello sftp\n"
    d = os.path.join(server.sftp_root, "d")
    assert os.listdir(d) == ["b.txt"]
    assert os.stat(os.path.join(d, "b.txt")).st_mode & 0o777 == 0o600
    assert b"b.txt" in r.stdout
    # Errors come back as statuses: the batch stops at a failing command.
    batch.write_text("rmdir /no-such-dir\n")
    r = subprocess.run(["sftp", *server.ssh_args(), "-P", str(server.port), "-b", str(batch),
                        "user@127.0.0.1"], capture_output=True, timeout=60)
    assert r.returncode != 0 and b"No such file" in r.stderr


def test_64_concurrent_sessions(server):
    procs = [subprocess.Popen(["ssh", *server.ssh_args(), "-p", str(server.port), "user@127.0.0.1",
                               f"echo session-{i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(64)]
    results = [(p.communicate(timeout=120), p.returncode) for p in procs]
    for i, ((out, err), rc) in enumerate(results):
        assert rc == 0 and out == f"session-{i}\n".encode(), err
