"""A booted test image with the kernel's SSH server reachable on a free
loopback port, and OpenSSH client helpers (BatchMode, a generated key)."""
import os
import socket
import subprocess
import time

import sysimage
from harness import AKUMA, test_env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_key(directory, name="id_ed25519"):
    path = os.path.join(directory, name)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
    return path


def install_keys(image, pubkey_text):
    """authorized_keys for root and user on the (unmounted) image copy."""
    from akuma.image import sshkeys
    from akuma.image.writer import ImageWriter
    w = ImageWriter(image)
    try:
        sshkeys.install(w, pubkey_text)
    finally:
        w.close()


class BootedSystem:
    """`akuma --image IMG -p PORT:22` in a subprocess; stdin stays open (the
    console shell would power off at EOF); ``stop()`` powers it off.
    ``extra_args`` go on akuma's command line; ``prepare(image)`` runs on the
    image copy before the boot."""

    def __init__(self, tmp, image=None, extra_args=(), prepare=None):
        self.tmp = str(tmp)
        self.image = image or sysimage.fresh_copy(os.path.join(self.tmp, "root.img"))
        self.key = make_key(self.tmp)
        with open(self.key + ".pub", "rb") as f:
            install_keys(self.image, f.read())
        if prepare is not None:
            prepare(self.image)         # e.g. `akuma -c` on the image before the boot
        self.port = free_port()
        self.log = open(os.path.join(self.tmp, "akuma.log"), "wb")
        self.proc = subprocess.Popen(AKUMA + ["--image", self.image, "-p", f"{self.port}:22",
                                              *extra_args],
                                     stdin=subprocess.PIPE, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=test_env(TERM="dumb"))
        self._wait_ready()

    def _wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"akuma exited early: {self.read_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.settimeout(10)
                    if s.recv(64).startswith(b"SSH-2.0-"):
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"no SSH banner on port {self.port}: {self.read_log()}")

    def read_log(self):
        with open(self.log.name, "rb") as f:
            return f.read().decode(errors="replace")

    def ssh_args(self, user="user", key=None, *options):
        return ["ssh", "-F", "/dev/null", "-p", str(self.port), "-i", key or self.key,
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=60", *options,
                f"{user}@127.0.0.1"]

    def ssh(self, command, user="user", input=None, timeout=120, options=()):
        return subprocess.run(self.ssh_args(user, None, *options) + [command], input=input,
                              capture_output=True, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def scp_args(self):
        return ["scp", "-F", "/dev/null", "-P", str(self.port), "-i", self.key,
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"poweroff\n")
                self.proc.stdin.flush()
                self.proc.wait(60)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()
