"""Populating an ext2 image from the host side, through the project's own
ext2 code (akuma.vfs.ext2): directories, files, symlinks, hard links and
device nodes by path, with Debian's merged-/usr layout.

Merged /usr: /bin, /sbin and /lib are symlinks to usr/bin, usr/sbin and
usr/lib, as Debian makes them.  A package file under ./bin/ lands in
usr/bin/ — exactly where dpkg would put it by following the symlink."""
import os
import posixpath
import stat as pystat
import tarfile

from akuma.abi import KernelError
from akuma.abi.errors import EEXIST, ENOENT
from akuma.image.errors import ImageError
from akuma.vfs.ext2 import Ext2Fs

MERGED = ("bin", "sbin", "lib")
CHUNK = 1 << 20


class ImageWriter:
    def __init__(self, image_path):
        self.fs = Ext2Fs(image_path)
        self._dirs = {(): self.fs.root}        # path components -> Ext2Dir (kept alive)

    # -- paths --------------------------------------------------------------------------
    @staticmethod
    def parts(path):
        """'./bin/ls' -> ('usr', 'bin', 'ls') (merged /usr applied)."""
        comps = tuple(c for c in posixpath.normpath("/" + path).split("/") if c)
        if comps and comps[0] in MERGED and len(comps) > 1:
            comps = ("usr",) + comps
        return tuple(c.encode() if isinstance(c, str) else c for c in comps)

    def _dir(self, comps, create=True, mode=0o755):
        d = self._dirs.get(comps)
        if d is not None:
            return d
        parent = self._dir(comps[:-1], create, mode)
        try:
            d = parent.lookup(comps[-1])
        except KernelError as e:
            if e.errno != ENOENT or not create:
                raise
            d = parent.mkdir(comps[-1], mode)
        if d.is_lnk:                        # bin -> usr/bin and friends
            base = "/" + "/".join(c.decode() for c in comps[:-1])
            return self._dir(self.parts(posixpath.join(base, d.readlink().decode())),
                             create, mode)
        if not d.is_dir:
            raise ImageError(f"image: /{b'/'.join(comps).decode()} is not a directory")
        self._dirs[comps] = d
        return d

    def _clear(self, parent, name):
        """Remove a non-directory entry so a later package's file replaces
        it (dpkg's behaviour for overlapping files)."""
        try:
            old = parent.lookup(name)
        except KernelError as e:
            if e.errno == ENOENT:
                return
            raise
        if old.is_dir:
            raise KernelError(EEXIST)
        parent.unlink(name)

    def lookup(self, path):
        comps = self.parts(path)
        try:
            return self._dir(comps[:-1], create=False).lookup(comps[-1])
        except KernelError:
            return None

    def exists(self, path):
        return self.lookup(path) is not None

    # -- making things --------------------------------------------------------------------
    def mkdir(self, path, mode=0o755, uid=0, gid=0):
        comps = self.parts(path)
        d = self._dir(comps, mode=mode)
        d.chmod(mode)
        d.chown(uid, gid)
        return d

    def write(self, path, data, mode=0o644, uid=0, gid=0, mtime=None):
        comps = self.parts(path)
        parent = self._dir(comps[:-1])
        self._clear(parent, comps[-1])
        f = parent.create(comps[-1], mode, uid, gid)
        self._fill(f, data)
        f.chmod(mode)                  # create() honours the bits, chmod keeps setuid too
        if mtime is not None:
            f.utimens(int(mtime) * 10**9, int(mtime) * 10**9)
        return f

    def _fill(self, f, data):
        if isinstance(data, (bytes, bytearray, memoryview)):
            if data:
                f.write_at(data, 0)
            return
        off = 0
        while True:
            chunk = data.read(CHUNK)
            if not chunk:
                break
            f.write_at(chunk, off)
            off += len(chunk)

    def symlink(self, path, target, uid=0, gid=0):
        comps = self.parts(path)
        parent = self._dir(comps[:-1])
        self._clear(parent, comps[-1])
        return parent.symlink(comps[-1], target.encode() if isinstance(target, str) else target,
                              uid, gid)

    def hardlink(self, path, existing):
        target = self.lookup(existing)
        if target is None:
            raise ImageError(f"image: hard link /{path} to missing /{existing}")
        comps = self.parts(path)
        parent = self._dir(comps[:-1])
        self._clear(parent, comps[-1])
        parent.link(comps[-1], target)

    def mknod(self, path, mode, rdev=0):
        comps = self.parts(path)
        parent = self._dir(comps[:-1])
        self._clear(parent, comps[-1])
        return parent.mknod(comps[-1], mode, rdev)

    # -- packages --------------------------------------------------------------------
    def add_tar(self, tar, skip=lambda path: False):
        """Every member of a package's data.tar; returns the paths added."""
        added = []
        for m in tar:
            path = posixpath.normpath("/" + m.name)
            if path == "/" or skip(path):
                continue
            if m.isdir():
                self.mkdir(path, m.mode & 0o7777, m.uid, m.gid)
            elif m.isreg():
                with tar.extractfile(m) as src:
                    self.write(path, src, m.mode & 0o7777, m.uid, m.gid, m.mtime)
            elif m.issym():
                self.symlink(path, m.linkname, m.uid, m.gid)
            elif m.islnk():
                self.hardlink(path, posixpath.normpath("/" + m.linkname))
            elif m.ischr() or m.isblk() or m.isfifo():
                kind = {tarfile.CHRTYPE: pystat.S_IFCHR, tarfile.BLKTYPE: pystat.S_IFBLK,
                        tarfile.FIFOTYPE: pystat.S_IFIFO}[m.type]
                self.mknod(path, kind | (m.mode & 0o7777), os.makedev(m.devmajor, m.devminor))
            else:
                continue
            added.append(path)
        return added

    def close(self):
        self._dirs.clear()
        self.fs.unmount()
