"""The host user's SSH public keys, installed as authorized_keys for root
and `user` so that `ssh -p 2222 user@localhost` works out of the box."""
import glob
import os

# (account home in the image, uid, gid)
ACCOUNTS = (("root", 0, 0), ("home/user", 1000, 1000))


def host_public_keys(home=None):
    """The text of every ~/.ssh/*.pub of the host user (b"" if none)."""
    home = home or os.path.expanduser("~")
    out = []
    for path in sorted(glob.glob(os.path.join(home, ".ssh", "*.pub"))):
        try:
            with open(path, "rb") as f:
                text = f.read(64 << 10)
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            if line.startswith((b"ssh-", b"ecdsa-", b"sk-")):
                out.append(line + b"\n")
    return b"".join(dict.fromkeys(out))


def install(writer, keys):
    """~/.ssh (0700) and ~/.ssh/authorized_keys (0600), owned by the account;
    /etc/ssh for the host key the kernel makes on first boot."""
    writer.mkdir("etc/ssh", 0o755, 0, 0)
    for home, uid, gid in ACCOUNTS:
        writer.mkdir(f"{home}/.ssh", 0o700, uid, gid)
        if keys:
            writer.write(f"{home}/.ssh/authorized_keys", keys, 0o600, uid, gid)
