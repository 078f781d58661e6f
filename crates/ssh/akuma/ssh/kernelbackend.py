"""The SSH server's Backend over an Akuma kernel: accounts from /etc/passwd
and /etc/group on the VFS, keys from ~/.ssh/authorized_keys and
/etc/ssh/authorized_keys, sessions as guest processes (kernelsession),
sftp on the VFS as the user (kernelsftp), forwarding through the kernel's
TCP stack (kernelstream)."""
import logging

from akuma.abi import KernelError
from akuma.abi import fcntl as F

from . import passhash
from .backend import BackendError, UserInfo
from .keys import parse_authorized_keys
from .kernelsession import KernelSession
from .kernelsftp import VfsFilesystem
from .kernelstream import KernelListener, connect

log = logging.getLogger("akuma.ssh")

MAX_FILE = 1 << 20          # /etc/passwd, authorized_keys: refuse anything larger
SYSTEM_KEYS = "/etc/ssh/authorized_keys"


def read_file(vfs, path, limit=MAX_FILE):
    """A whole file of the VFS as bytes (as root), or None if unreadable."""
    try:
        f = vfs.open(path.encode() if isinstance(path, str) else path, F.O_RDONLY)
    except KernelError:
        return None
    try:
        out = bytearray()
        while len(out) <= limit:
            chunk = f.read(65536)
            if not chunk:
                break
            out += chunk
        return bytes(out[:limit])
    except KernelError:
        return None
    finally:
        f.close()


def _fields(text, count):
    for line in text.decode("utf-8", "replace").splitlines():
        parts = line.split(":")
        if len(parts) >= count and not line.startswith("#"):
            yield parts


class KernelBackend:
    def __init__(self, kernel):
        self.kernel = kernel
        self._unsupported_schemes = set()        # logged once each

    @property
    def vfs(self):
        return self.kernel.vfs

    # -- accounts ----------------------------------------------------------------
    def lookup_user(self, name):
        text = read_file(self.vfs, "/etc/passwd") or b""
        for parts in _fields(text, 7):
            if parts[0] == name:
                try:
                    uid, gid = int(parts[2]), int(parts[3])
                except ValueError:
                    return None
                return UserInfo(name, uid, gid, parts[5] or "/", parts[6] or "/bin/sh")
        return None

    def groups(self, user):
        """Supplementary groups: the primary group and the /etc/group entries
        naming the user."""
        text = read_file(self.vfs, "/etc/group") or b""
        out = []
        for parts in _fields(text, 4):
            if user.name in parts[3].split(","):
                try:
                    out.append(int(parts[2]))
                except ValueError:
                    pass
        return list(dict.fromkeys([user.gid] + out))     # initgroups: the primary group too

    def authorized_keys(self, user):
        blobs = []
        for path in (user.home.rstrip("/") + "/.ssh/authorized_keys", SYSTEM_KEYS):
            if self._trusted(path, user):
                blobs += parse_authorized_keys(read_file(self.vfs, path) or b"")
        return blobs

    def _trusted(self, path, user):
        """sshd's StrictModes: the file belongs to the user or root and nobody
        else may write it."""
        try:
            st = self.vfs.stat(path.encode())
        except KernelError:
            return False
        if st.uid not in (0, user.uid) or st.mode & 0o022:
            self.kernel.log(f"ssh: ignoring {path}: bad ownership or modes")
            return False
        return True

    def check_password(self, user, password):
        text = read_file(self.vfs, "/etc/shadow") or b""
        for parts in _fields(text, 2):
            if parts[0] != user.name:
                continue
            stored = parts[1]
            if not stored or stored[0] in "!*":
                return False                     # empty or locked: never over the network
            if not passhash.supported(stored):
                self._log_unsupported(stored)
                return False
            return passhash.verify(password, stored)
        return False

    def _log_unsupported(self, stored):
        """Once per scheme, naming only the scheme id (never the hash)."""
        scheme = stored.split("$")[1][:8] if stored.startswith("$") else "DES/unknown"
        if scheme not in self._unsupported_schemes:
            self._unsupported_schemes.add(scheme)
            self.kernel.log(f"ssh: /etc/shadow hash scheme {scheme!r} is not supported "
                            "(only $1$, $5$, $6$); password login refused")

    # -- sessions ------------------------------------------------------------------
    def start_session(self, request, sink):
        try:
            return KernelSession(self.kernel, request, sink, self.groups(request.user))
        except KernelError as e:
            raise BackendError(f"cannot start session: errno {e.errno}") from None

    def sftp_filesystem(self, user):
        return VfsFilesystem(self.vfs, user, self.groups(user))

    # -- forwarding ----------------------------------------------------------------
    def open_direct_tcpip(self, user, host, port, originator_host, originator_port, sink):
        return connect(self.kernel, host, port, sink)

    def listen_tcpip(self, user, address, port, acceptor):
        if 0 < port < 1024 and user.uid != 0:
            raise BackendError("only root may forward privileged ports")
        listener = KernelListener(self.kernel, address, port, acceptor)
        return listener, listener.port
