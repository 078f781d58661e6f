"""Shared by the ssh crate's tests: the sans-I/O server on a loopback port
(HostServer + HostBackend in a background event loop) and OpenSSH client
helpers with a generated client key."""
import asyncio
import os
import subprocess
import threading

from akuma.ssh.backend import UserInfo
from akuma.ssh.config import ServerConfig
from akuma.ssh.hostbackend import HostBackend
from akuma.ssh.hostserver import HostServer
from akuma.ssh.keys import HostKey, parse_authorized_keys


def make_client_key(directory, kind="ed25519", bits=None):
    path = os.path.join(directory, f"id_{kind}{bits or ''}")
    if not os.path.exists(path):
        cmd = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", path]
        if bits:
            cmd += ["-b", str(bits)]
        subprocess.run(cmd, check=True)
    return path


class ServerThread:
    """The server in its own thread and loop, on 127.0.0.1:<ephemeral>."""

    def __init__(self, tmp, key_kinds=(("ed25519", None),), **config):
        self.tmp = str(tmp)
        self.home = os.path.join(self.tmp, "home")
        self.sftp_root = os.path.join(self.tmp, "sftp")
        os.makedirs(self.home, exist_ok=True)
        os.makedirs(self.sftp_root, exist_ok=True)
        self.client_keys = [make_client_key(self.tmp, kind, bits) for kind, bits in key_kinds]
        blobs = []
        for path in self.client_keys:
            with open(path + ".pub") as f:
                blobs += parse_authorized_keys(f.read())
        user = UserInfo("user", os.getuid(), os.getgid(), self.home, "/bin/sh")
        self.backend = HostBackend({"user": user}, {"user": blobs}, sftp_root=self.sftp_root,
                                   passwords={"user": "hunter2"})
        self.host_key = HostKey.load_or_generate(os.path.join(self.tmp, "ssh_host_ed25519_key"))
        self.config = ServerConfig(host_key=self.host_key, **config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = self.run(HostServer(self.config, self.backend).start())
        self.port = self.server.port

    def run(self, coro, timeout=60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self):
        self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def ssh_args(self, *options, key=None):
        return ["-F", "/dev/null", "-i", key or self.client_keys[0], "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes", *options]

    def ssh(self, command, *options, input=None, timeout=60, key=None):
        return subprocess.run(["ssh", *self.ssh_args(*options, key=key), "-p", str(self.port),
                               "user@127.0.0.1", command],
                              input=input, capture_output=True, timeout=timeout)
