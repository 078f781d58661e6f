"""What the SSH server needs from the system it runs on.

The protocol core (``connection.ServerConnection``) never touches files,
processes or sockets itself: it calls a ``Backend``.  The host adapter
(``hostbackend.HostBackend``) implements it with host processes for tests and
benchmarks; the kernel implements it with guest processes, PTYs, the VFS and
its TCP stack.

Threading model: every call is made from the thread/event loop that drives the
connection, and every callback into a sink must be made from that same loop
(the kernel loop, or the asyncio loop of the host adapter).  Calls must not
block: start the work and report later through the sink.  Errors are raised
as ``OSError`` (with ``errno`` set where there is one) or ``BackendError``;
the connection turns them into channel/request failures, never into a
dropped connection.
"""
from dataclasses import dataclass, field
from typing import Optional, Protocol


class BackendError(Exception):
    """A request the backend refuses (message goes to the log and, where the
    protocol has room for it, to the client)."""


@dataclass(frozen=True)
class UserInfo:
    """A login account, as /etc/passwd describes it."""
    name: str
    uid: int
    gid: int
    home: str
    shell: str


@dataclass(frozen=True)
class PtyRequest:
    """A "pty-req" (RFC 4254 §6.2).  ``modes`` maps RFC 4254 §8 opcodes
    (e.g. 1 = VINTR, 53 = ECHO, 128/129 = TTY_OP_ISPEED/OSPEED) to values;
    the backend applies what its terminal supports."""
    term: str
    cols: int
    rows: int
    width_px: int
    height_px: int
    modes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SessionRequest:
    """Start a login shell (``command is None``) or ``command`` via the user's
    shell (``shell -c command``), in the user's home with their uid/gid.
    With ``pty`` the process gets a new terminal as controlling tty (stdin,
    stdout and stderr all on it, so everything arrives as stdout); without
    one, stdin/stdout/stderr are three pipes."""
    user: UserInfo
    command: Optional[str]
    pty: Optional[PtyRequest]
    env: dict


class SessionSink(Protocol):
    """Given to ``Backend.start_session``; the process reports through it."""

    def stdout(self, data: bytes) -> None:
        """Output on stdout (or the pty)."""

    def stderr(self, data: bytes) -> None:
        """Output on stderr (never called for pty sessions)."""

    def exited(self, status: Optional[int] = None, signal: Optional[str] = None,
               core_dumped: bool = False, message: str = "") -> None:
        """The process ended: ``status`` for exit(), or ``signal`` as a name
        without "SIG" ("TERM", "KILL"...).  Call it once, after the last
        stdout/stderr call (drain the pipes/pty first)."""


class SessionProcess(Protocol):
    """The handle ``start_session`` returns."""

    def write_stdin(self, data: bytes) -> None:
        """Client data for the process's stdin (buffer it; do not block)."""

    def close_stdin(self) -> None:
        """The client sent EOF.  Pipes: close stdin.  Pty: nothing (a shell
        sees EOF from the ^D byte the client sends instead)."""

    def resize(self, cols: int, rows: int, width_px: int, height_px: int) -> None:
        """window-change: set the pty size and send SIGWINCH to its group."""

    def signal(self, name: str) -> None:
        """Deliver signal ``name`` ("INT", "TERM", ...; no "SIG") to the process."""

    def set_output_paused(self, paused: bool) -> None:
        """Flow control: stop/resume reading the process's output while the
        client's window is full."""

    def terminate(self) -> None:
        """The channel closed or the connection dropped: hang up (SIGHUP for a
        pty session), release resources.  No sink calls are needed after it."""


class StreamSink(Protocol):
    """Given to ``open_direct_tcpip``; the TCP connection reports through it."""

    def opened(self) -> None:
        """The connection is established (the channel is confirmed now)."""

    def open_failed(self, message: str) -> None:
        """Could not connect (the channel open fails with CONNECT_FAILED)."""

    def data(self, data: bytes) -> None:
        """Bytes received from the TCP peer."""

    def eof(self) -> None:
        """The TCP peer shut down its sending side."""

    def closed(self) -> None:
        """The TCP connection is gone."""


class Stream(Protocol):
    """A TCP connection handle (direct-tcpip or an accepted forwarded one)."""

    def attach(self, sink: StreamSink) -> None:
        """Start delivering to ``sink`` (accepted forwarded connections get
        their sink this way; direct-tcpip ones receive it at open)."""

    def write(self, data: bytes) -> None:
        """Send to the TCP peer."""

    def write_eof(self) -> None:
        """Shut down our sending side."""

    def close(self) -> None:
        """Close; no sink calls after this."""

    def set_paused(self, paused: bool) -> None:
        """Flow control: stop/resume reading from the TCP peer."""


class Listener(Protocol):
    def close(self) -> None:
        """Stop listening (cancel-tcpip-forward or the connection ended)."""


class ForwardAcceptor(Protocol):
    """Given to ``listen_tcpip``: call it for each accepted connection with
    the connection's ``Stream`` and the originator's address and port."""

    def __call__(self, stream: Stream, originator_host: str, originator_port: int) -> None: ...


class SftpFile(Protocol):
    """An open file of the SFTP subsystem."""

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``; b"" at end of file."""

    def write(self, offset: int, data: bytes) -> None: ...

    def fstat(self) -> "FileAttributes": ...

    def fsetstat(self, attrs: "FileAttributes") -> None: ...

    def fsync(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class FileAttributes:
    """SFTP v3 ATTRS; None means "not present" (or "leave unchanged" in
    setstat).  ``permissions`` holds the full st_mode (type bits included)."""
    size: Optional[int] = None
    uid: Optional[int] = None
    gid: Optional[int] = None
    permissions: Optional[int] = None
    atime: Optional[int] = None
    mtime: Optional[int] = None


class SftpFilesystem(Protocol):
    """Filesystem operations for one user's SFTP session, with that user's
    permissions.  Paths are absolute or relative to the user's home, exactly
    as the client sent them (bytes decoded as UTF-8 with surrogateescape).
    Every method raises OSError with the errno the operation failed with."""

    def open(self, path: str, flags: int, attrs: FileAttributes) -> SftpFile:
        """``flags`` are os.O_* (O_RDONLY/O_WRONLY/O_RDWR | O_APPEND | O_CREAT |
        O_TRUNC | O_EXCL); ``attrs.permissions`` is the mode for O_CREAT."""

    def stat(self, path: str) -> FileAttributes: ...

    def lstat(self, path: str) -> FileAttributes: ...

    def setstat(self, path: str, attrs: FileAttributes) -> None:
        """Apply the present fields: size (truncate), uid/gid, permissions,
        atime+mtime."""

    def listdir(self, path: str) -> list:
        """[(name, FileAttributes from lstat)] including "." and ".."."""

    def remove(self, path: str) -> None: ...

    def mkdir(self, path: str, attrs: FileAttributes) -> None: ...

    def rmdir(self, path: str) -> None: ...

    def realpath(self, path: str) -> str:
        """Canonical absolute path ("." is the home directory)."""

    def rename(self, old: str, new: str, overwrite: bool) -> None:
        """SFTP v3 rename fails if ``new`` exists (``overwrite`` False);
        posix-rename@openssh.com replaces it (``overwrite`` True)."""

    def readlink(self, path: str) -> str: ...

    def symlink(self, target: str, link_path: str) -> None: ...

    def hardlink(self, old: str, new: str) -> None: ...

    def statvfs(self, path: str) -> dict:
        """Keys: bsize frsize blocks bfree bavail files ffree favail fsid flag namemax."""


class Backend(Protocol):
    """The system the server runs on."""

    def lookup_user(self, name: str) -> Optional[UserInfo]:
        """The account ``name`` or None if there is none."""

    def authorized_keys(self, user: UserInfo) -> list:
        """Public key blobs allowed to log in as ``user`` (e.g. from
        ~/.ssh/authorized_keys and /etc/ssh/authorized_keys, parsed with
        ``keys.parse_authorized_keys``)."""

    def check_password(self, user: UserInfo, password: str) -> bool:
        """Only called when the server config enables password auth."""

    def start_session(self, request: SessionRequest, sink: SessionSink) -> SessionProcess:
        """Start a shell or command; raise to refuse (the client gets failure)."""

    def sftp_filesystem(self, user: UserInfo) -> SftpFilesystem:
        """The filesystem as ``user`` sees it, for the sftp subsystem."""

    def open_direct_tcpip(self, user: UserInfo, host: str, port: int,
                          originator_host: str, originator_port: int,
                          sink: StreamSink) -> Stream:
        """``ssh -L``: connect to host:port; report sink.opened() or
        sink.open_failed(); raise BackendError to refuse outright."""

    def listen_tcpip(self, user: UserInfo, address: str, port: int,
                     acceptor: ForwardAcceptor):
        """``ssh -R``: listen on address:port (0 = pick one); return
        (Listener, bound port).  Raise to refuse."""
