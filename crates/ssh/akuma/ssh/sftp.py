"""The SFTP v3 server (draft-ietf-secsh-filexfer-02 plus OpenSSH's
extensions), the protocol OpenSSH 9's sftp and scp speak.  It parses requests
from the channel's byte stream and runs them on a backend SftpFilesystem;
OSError's errno becomes the status code."""
import errno
import logging
import os
import stat as statmod
import struct
import time

from . import wire
from .backend import FileAttributes
from .errors import DisconnectError

log = logging.getLogger("akuma.ssh")

INIT, VERSION, OPEN, CLOSE, READ, WRITE, LSTAT, FSTAT, SETSTAT, FSETSTAT = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
OPENDIR, READDIR, REMOVE, MKDIR, RMDIR, REALPATH, STAT, RENAME, READLINK, SYMLINK = range(11, 21)
STATUS, HANDLE, DATA, NAME, ATTRS, EXTENDED, EXTENDED_REPLY = 101, 102, 103, 104, 105, 200, 201

OK, EOF, NO_SUCH_FILE, PERMISSION_DENIED, FAILURE, BAD_MESSAGE, OP_UNSUPPORTED = 0, 1, 2, 3, 4, 5, 8

ATTR_SIZE, ATTR_UIDGID, ATTR_PERMISSIONS, ATTR_ACMODTIME, ATTR_EXTENDED = 1, 2, 4, 8, 0x80000000
PF_READ, PF_WRITE, PF_APPEND, PF_CREAT, PF_TRUNC, PF_EXCL = 1, 2, 4, 8, 0x10, 0x20

MAX_PACKET = 256 * 1024 + 1024   # a 256 KiB write plus its header
MAX_READ = 256 * 1024
MAX_HANDLES = 256
READDIR_BATCH = 100

_ERRNO_STATUS = {errno.ENOENT: NO_SUCH_FILE, errno.ENOTDIR: NO_SUCH_FILE, errno.EACCES: PERMISSION_DENIED,
                 errno.EPERM: PERMISSION_DENIED, errno.EROFS: PERMISSION_DENIED,
                 errno.ENOSYS: OP_UNSUPPORTED, errno.EOPNOTSUPP: OP_UNSUPPORTED}
_STATUS_TEXT = {OK: "Success", EOF: "End of file", NO_SUCH_FILE: "No such file",
                PERMISSION_DENIED: "Permission denied", FAILURE: "Failure",
                BAD_MESSAGE: "Bad message", OP_UNSUPPORTED: "Operation unsupported"}
EXTENSIONS = (("posix-rename@openssh.com", "1"), ("statvfs@openssh.com", "2"),
              ("hardlink@openssh.com", "1"), ("fsync@openssh.com", "1"),
              ("limits@openssh.com", "1"))


class _Reply(Exception):
    """Ends a request with a STATUS reply."""

    def __init__(self, code, message=None):
        self.code = code
        self.message = message or _STATUS_TEXT.get(code, "Failure")


def parse_attrs(r):
    flags = r.u32()
    attrs = FileAttributes()
    if flags & ATTR_SIZE:
        attrs.size = r.u64()
    if flags & ATTR_UIDGID:
        attrs.uid, attrs.gid = r.u32(), r.u32()
    if flags & ATTR_PERMISSIONS:
        attrs.permissions = r.u32()
    if flags & ATTR_ACMODTIME:
        attrs.atime, attrs.mtime = r.u32(), r.u32()
    if flags & ATTR_EXTENDED:
        for _ in range(r.u32()):
            r.string(), r.string()
    return attrs


def encode_attrs(a):
    flags, body = 0, b""
    if a.size is not None:
        flags |= ATTR_SIZE
        body += wire.u64(a.size)
    if a.uid is not None and a.gid is not None:
        flags |= ATTR_UIDGID
        body += wire.u32(a.uid) + wire.u32(a.gid)
    if a.permissions is not None:
        flags |= ATTR_PERMISSIONS
        body += wire.u32(a.permissions)
    if a.atime is not None and a.mtime is not None:
        flags |= ATTR_ACMODTIME
        body += wire.u32(a.atime & 0xffffffff) + wire.u32(a.mtime & 0xffffffff)
    return wire.u32(flags) + body


def longname(name, a):
    """An `ls -l` line; clients show it for `ls -l`."""
    mode = a.permissions or 0
    mtime = time.localtime(a.mtime or 0)
    when = time.strftime("%b %d %H:%M" if time.time() - (a.mtime or 0) < 180 * 86400 else "%b %d  %Y", mtime)
    return (f"{statmod.filemode(mode)}    1 {a.uid or 0:<8} {a.gid or 0:<8} {a.size or 0:>8} "
            f"{when} {name}")


def open_flags(pflags):
    if pflags & PF_READ and pflags & PF_WRITE:
        flags = os.O_RDWR
    elif pflags & PF_WRITE:
        flags = os.O_WRONLY
    else:
        flags = os.O_RDONLY
    if pflags & PF_APPEND:
        flags |= os.O_APPEND
    if pflags & PF_CREAT:
        flags |= os.O_CREAT
    if pflags & PF_TRUNC:
        flags |= os.O_TRUNC
    if pflags & PF_EXCL:
        flags |= os.O_EXCL
    return flags


def _path(raw):
    return raw.decode("utf-8", "surrogateescape")


class SftpServer:
    """One sftp subsystem: feed() channel bytes, get reply packets back."""

    def __init__(self, fs, peer="?"):
        self.fs = fs
        self.peer = peer
        self.buf = bytearray()
        self.handles = {}
        self._next_handle = 0
        self.initialized = False
        self.failed = False          # framing broken: the channel should close

    def close(self):
        for handle in list(self.handles.values()):
            self._close_handle(handle)
        self.handles.clear()

    def feed(self, data):
        if self.failed:
            return []
        self.buf += data
        replies = []
        while len(self.buf) >= 4:
            length = struct.unpack_from(">I", self.buf)[0]
            if length < 5 or length > MAX_PACKET:
                log.warning("sftp %s: bad packet length %d, closing", self.peer, length)
                self.failed = True
                break
            if len(self.buf) < 4 + length:
                break
            packet = bytes(self.buf[4:4 + length])
            del self.buf[:4 + length]
            reply = self._handle(packet)
            if reply is not None:
                replies.append(wire.string(reply))
        return replies

    # -- dispatch -------------------------------------------------------------
    def _handle(self, packet):
        kind = packet[0]
        if kind == INIT:
            self.initialized = True
            out = wire.byte(VERSION) + wire.u32(3)
            for name, version in EXTENSIONS:
                out += wire.string(name) + wire.string(version)
            return out
        r = wire.Reader(packet, 1)
        try:
            request_id = r.u32()
        except DisconnectError:
            self.failed = True
            return None
        try:
            if not self.initialized:
                raise _Reply(FAILURE, "SSH_FXP_INIT expected")
            handler = self._HANDLERS.get(kind)
            if handler is None:
                raise _Reply(OP_UNSUPPORTED)
            return handler(self, request_id, r)
        except _Reply as e:
            return self._status(request_id, e.code, e.message)
        except DisconnectError:
            return self._status(request_id, BAD_MESSAGE)
        except OSError as e:
            code = _ERRNO_STATUS.get(e.errno, FAILURE)
            return self._status(request_id, code, os.strerror(e.errno) if e.errno else str(e))
        except Exception:
            log.exception("sftp %s: request %d failed", self.peer, kind)
            return self._status(request_id, FAILURE, "internal error")

    @staticmethod
    def _status(request_id, code, message=None):
        return (wire.byte(STATUS) + wire.u32(request_id) + wire.u32(code)
                + wire.string(message or _STATUS_TEXT.get(code, "Failure")) + wire.string("en"))

    def _ok(self, request_id):
        return self._status(request_id, OK)

    def _new_handle(self, obj):
        if len(self.handles) >= MAX_HANDLES:
            raise _Reply(FAILURE, "too many open handles")
        self._next_handle += 1
        key = str(self._next_handle).encode()
        self.handles[key] = obj
        return wire.string(key)

    def _handle_of(self, r, want):
        obj = self.handles.get(r.string())
        if obj is None or obj[0] != want:
            raise _Reply(FAILURE, "invalid handle")
        return obj

    def _close_handle(self, obj):
        if obj[0] == "file":
            try:
                obj[1].close()
            except OSError as e:
                log.info("sftp %s: close: %s", self.peer, e)

    # -- requests ---------------------------------------------------------------
    def _open(self, rid, r):
        path, pflags = _path(r.string()), r.u32()
        attrs = parse_attrs(r)
        f = self.fs.open(path, open_flags(pflags), attrs)
        return wire.byte(HANDLE) + wire.u32(rid) + self._new_handle(("file", f))

    def _close(self, rid, r):
        obj = self.handles.pop(r.string(), None)
        if obj is None:
            raise _Reply(FAILURE, "invalid handle")
        self._close_handle(obj)
        return self._ok(rid)

    def _read(self, rid, r):
        _, f = self._handle_of(r, "file")
        offset, length = r.u64(), r.u32()
        data = f.read(offset, min(length, MAX_READ))
        if not data:
            raise _Reply(EOF)
        return wire.byte(DATA) + wire.u32(rid) + wire.string(data)

    def _write(self, rid, r):
        _, f = self._handle_of(r, "file")
        offset = r.u64()
        f.write(offset, r.string())
        return self._ok(rid)

    def _attrs_reply(self, rid, attrs):
        return wire.byte(ATTRS) + wire.u32(rid) + encode_attrs(attrs)

    def _stat(self, rid, r):
        return self._attrs_reply(rid, self.fs.stat(_path(r.string())))

    def _lstat(self, rid, r):
        return self._attrs_reply(rid, self.fs.lstat(_path(r.string())))

    def _fstat(self, rid, r):
        return self._attrs_reply(rid, self._handle_of(r, "file")[1].fstat())

    def _setstat(self, rid, r):
        path = _path(r.string())
        self.fs.setstat(path, parse_attrs(r))
        return self._ok(rid)

    def _fsetstat(self, rid, r):
        _, f = self._handle_of(r, "file")
        f.fsetstat(parse_attrs(r))
        return self._ok(rid)

    def _opendir(self, rid, r):
        entries = list(self.fs.listdir(_path(r.string())))
        return wire.byte(HANDLE) + wire.u32(rid) + self._new_handle(("dir", entries))

    def _readdir(self, rid, r):
        _, entries = self._handle_of(r, "dir")
        if not entries:
            raise _Reply(EOF)
        batch = entries[:READDIR_BATCH]
        del entries[:READDIR_BATCH]
        out = wire.byte(NAME) + wire.u32(rid) + wire.u32(len(batch))
        for name, attrs in batch:
            out += wire.string(name.encode("utf-8", "surrogateescape"))
            out += wire.string(longname(name, attrs)) + encode_attrs(attrs)
        return out

    def _remove(self, rid, r):
        self.fs.remove(_path(r.string()))
        return self._ok(rid)

    def _mkdir(self, rid, r):
        path = _path(r.string())
        self.fs.mkdir(path, parse_attrs(r))
        return self._ok(rid)

    def _rmdir(self, rid, r):
        self.fs.rmdir(_path(r.string()))
        return self._ok(rid)

    def _name_reply(self, rid, name):
        return (wire.byte(NAME) + wire.u32(rid) + wire.u32(1)
                + wire.string(name.encode("utf-8", "surrogateescape"))
                + wire.string(name.encode("utf-8", "surrogateescape")) + encode_attrs(FileAttributes()))

    def _realpath(self, rid, r):
        return self._name_reply(rid, self.fs.realpath(_path(r.string()) or "."))

    def _rename(self, rid, r):
        old, new = _path(r.string()), _path(r.string())
        self.fs.rename(old, new, overwrite=False)
        return self._ok(rid)

    def _readlink(self, rid, r):
        return self._name_reply(rid, self.fs.readlink(_path(r.string())))

    def _symlink(self, rid, r):
        # OpenSSH sends (target, link path): the reverse of the draft's order.
        target, link_path = _path(r.string()), _path(r.string())
        self.fs.symlink(target, link_path)
        return self._ok(rid)

    def _extended(self, rid, r):
        name = r.text()
        if name == "posix-rename@openssh.com":
            old, new = _path(r.string()), _path(r.string())
            self.fs.rename(old, new, overwrite=True)
            return self._ok(rid)
        if name == "hardlink@openssh.com":
            old, new = _path(r.string()), _path(r.string())
            self.fs.hardlink(old, new)
            return self._ok(rid)
        if name == "fsync@openssh.com":
            self._handle_of(r, "file")[1].fsync()
            return self._ok(rid)
        if name == "statvfs@openssh.com":
            v = self.fs.statvfs(_path(r.string()))
            fields = ("bsize", "frsize", "blocks", "bfree", "bavail", "files", "ffree", "favail",
                      "fsid", "flag", "namemax")
            return wire.byte(EXTENDED_REPLY) + wire.u32(rid) + b"".join(wire.u64(v[k]) for k in fields)
        if name == "limits@openssh.com":
            return (wire.byte(EXTENDED_REPLY) + wire.u32(rid) + wire.u64(MAX_PACKET)
                    + wire.u64(MAX_READ) + wire.u64(MAX_READ) + wire.u64(MAX_HANDLES))
        raise _Reply(OP_UNSUPPORTED, f"unsupported extension {name}")

    _HANDLERS = {
        OPEN: _open, CLOSE: _close, READ: _read, WRITE: _write, LSTAT: _lstat, FSTAT: _fstat,
        SETSTAT: _setstat, FSETSTAT: _fsetstat, OPENDIR: _opendir, READDIR: _readdir,
        REMOVE: _remove, MKDIR: _mkdir, RMDIR: _rmdir, REALPATH: _realpath, STAT: _stat,
        RENAME: _rename, READLINK: _readlink, SYMLINK: _symlink, EXTENDED: _extended,
    }
