"""The SftpFilesystem of one user over the kernel's VFS: every path is
walked with the user's credentials (akuma.vfs.perm), relative paths start
in their home, and attribute changes follow chmod/chown/utimes rules
(owner or root).  VFS errors become OSError with the same errno."""
import errno
import functools
import os
import posixpath

from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.vfs import perm

from .backend import FileAttributes

_OPEN_FLAGS = os.O_ACCMODE | os.O_APPEND | os.O_CREAT | os.O_TRUNC | os.O_EXCL


def _oserror(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except KernelError as e:
            raise OSError(e.errno, os.strerror(e.errno)) from None
    return wrapper


def _attrs(st):
    return FileAttributes(size=st.size, uid=st.uid, gid=st.gid, permissions=st.mode,
                          atime=st.atime_ns // 10**9, mtime=st.mtime_ns // 10**9)


def _b(path):
    return path.encode("utf-8", "surrogateescape")


class VfsFile:
    def __init__(self, fs, f):
        self.fs = fs
        self.f = f

    @_oserror
    def read(self, offset, length):
        return bytes(self.f.pread(length, offset))

    @_oserror
    def write(self, offset, data):
        view = memoryview(data)
        while view:
            n = self.f.pwrite(bytes(view), offset)
            if n <= 0:
                raise OSError(errno.EIO, "short write")
            view, offset = view[n:], offset + n

    @_oserror
    def fstat(self):
        return _attrs(self.f.stat())

    @_oserror
    def fsetstat(self, attrs):
        self.fs._apply(self.f.inode, attrs, self.f)

    @_oserror
    def fsync(self):
        self.f.fsync()

    @_oserror
    def close(self):
        self.f.close()


class VfsFilesystem:
    def __init__(self, vfs, user, groups=()):
        self.vfs = vfs
        self.uid, self.gid = user.uid, user.gid
        self.cred = perm.fs_cred(user.uid, user.gid, groups)
        self.home = _b(user.home)
        try:
            if not vfs.stat(self.home, cred=self.cred).is_dir:
                self.home = b"/"
        except KernelError:
            self.home = b"/"

    def _path(self, path):
        return _b(path) or b"."

    @_oserror
    def open(self, path, flags, attrs):
        mode = attrs.permissions & 0o7777 if attrs.permissions is not None else 0o644
        f = self.vfs.open(self._path(path), (flags & _OPEN_FLAGS) | F.O_CLOEXEC, mode,
                          cwd=self.home, umask=0o022, uid=self.uid, gid=self.gid, cred=self.cred)
        if f.inode is not None and f.inode.is_dir:
            f.close()
            raise KernelError(errno.EISDIR)
        return VfsFile(self, f)

    @_oserror
    def stat(self, path):
        return _attrs(self.vfs.stat(self._path(path), self.home, cred=self.cred))

    @_oserror
    def lstat(self, path):
        return _attrs(self.vfs.stat(self._path(path), self.home, follow=False, cred=self.cred))

    @_oserror
    def setstat(self, path, attrs):
        loc = self.vfs.resolve(self._path(path), self.home, cred=self.cred)
        if loc.mnt.readonly:
            raise KernelError(errno.EROFS)
        self._apply(loc.inode, attrs)

    def _apply(self, inode, attrs, f=None):
        owner = self.cred is None or self.cred.uid == inode.uid
        if attrs.size is not None:
            if inode.is_dir:
                raise KernelError(errno.EISDIR)
            if f is None:
                perm.check(inode, self.cred, perm.W_OK)
            elif not f.writable:
                raise KernelError(errno.EINVAL)
            inode.truncate(attrs.size)
        if attrs.uid is not None and attrs.gid is not None and \
                (attrs.uid != inode.uid or attrs.gid != inode.gid):
            # chown: root only; an owner may change the group to one of theirs.
            if self.cred is not None and (attrs.uid != inode.uid or not owner or
                                          not self.cred.in_group(attrs.gid)):
                raise KernelError(errno.EPERM)
            inode.chown(attrs.uid, attrs.gid)
        if attrs.permissions is not None:
            if not owner:
                raise KernelError(errno.EPERM)
            inode.chmod(attrs.permissions & 0o7777)
        if attrs.atime is not None and attrs.mtime is not None:
            if not owner:
                raise KernelError(errno.EPERM)
            inode.utimens(attrs.atime * 10**9, attrs.mtime * 10**9)

    @_oserror
    def listdir(self, path):
        loc = self.vfs.resolve(self._path(path), self.home, cred=self.cred)
        if not loc.inode.is_dir:
            raise KernelError(errno.ENOTDIR)
        perm.check(loc.inode, self.cred, perm.R_OK | perm.X_OK)
        names = [b".", b".."] + sorted(n for n, _ino, _t in loc.inode.entries()
                                       if n not in (b".", b".."))
        base = loc.path
        out = []
        for name in names:
            try:
                st = self.vfs.stat(posixpath.join(base, name), follow=False, cred=self.cred)
            except KernelError:
                continue                      # vanished meanwhile
            out.append((name.decode("utf-8", "surrogateescape"), _attrs(st)))
        return out

    @_oserror
    def remove(self, path):
        self.vfs.unlink(self._path(path), self.home, cred=self.cred)

    @_oserror
    def mkdir(self, path, attrs):
        mode = attrs.permissions & 0o7777 if attrs.permissions is not None else 0o755
        self.vfs.mkdir(self._path(path), mode, self.home, umask=0o022, uid=self.uid,
                       gid=self.gid, cred=self.cred)

    @_oserror
    def rmdir(self, path):
        self.vfs.rmdir(self._path(path), self.home, cred=self.cred)

    @_oserror
    def realpath(self, path):
        raw = self._path(path)
        try:
            resolved = self.vfs.resolve(raw, self.home, cred=self.cred).path
        except KernelError:
            resolved = posixpath.normpath(posixpath.join(self.home, raw))
        return (resolved or b"/").decode("utf-8", "surrogateescape")

    @_oserror
    def rename(self, old, new, overwrite):
        if not overwrite:
            try:
                self.vfs.stat(self._path(new), self.home, follow=False, cred=self.cred)
            except KernelError as e:
                if e.errno != errno.ENOENT:
                    raise
            else:
                raise KernelError(errno.EEXIST)
        self.vfs.rename(self._path(old), self._path(new), self.home, cred=self.cred)

    @_oserror
    def readlink(self, path):
        return bytes(self.vfs.readlink(self._path(path), self.home, cred=self.cred)).decode(
            "utf-8", "surrogateescape")

    @_oserror
    def symlink(self, target, link_path):
        self.vfs.symlink(_b(target), self._path(link_path), self.home, uid=self.uid,
                         gid=self.gid, cred=self.cred)

    @_oserror
    def hardlink(self, old, new):
        self.vfs.link(self._path(old), self._path(new), self.home, cred=self.cred)

    @_oserror
    def statvfs(self, path):
        loc = self.vfs.resolve(self._path(path), self.home, cred=self.cred)
        st = loc.mnt.fs.statfs()
        bsize = st.get("f_bsize", 4096)
        return {"bsize": bsize, "frsize": st.get("f_frsize", bsize),
                "blocks": st.get("f_blocks", 0), "bfree": st.get("f_bfree", 0),
                "bavail": st.get("f_bavail", 0), "files": st.get("f_files", 0),
                "ffree": st.get("f_ffree", 0), "favail": st.get("f_ffree", 0),
                "fsid": loc.mnt.fs.dev, "flag": 1 if loc.mnt.readonly else 0,
                "namemax": st.get("f_namelen", 255)}
