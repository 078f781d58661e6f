"""Vfs: the mount table and the path walk, and the path-based operations the
syscalls use.  The caller passes each process's cwd and root (bytes paths
relative to the process root, or Locs / OpenFiles already resolved)."""
from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi import stat as st
from akuma.abi.errors import (EACCES, EBUSY, EEXIST, EINVAL, EISDIR, ELOOP, ENAMETOOLONG,
                              ENOENT, ENOTDIR, ENOTEMPTY, EOPNOTSUPP, EPERM, EROFS, EXDEV)

from akuma.vfs.dirent import DT_DIR
from akuma.vfs.memfs import MemFs
from akuma.vfs.mount import Loc, Mount
from akuma.vfs.mountops import MountOps
from akuma.vfs.openfile import OpenFile
from akuma.vfs import perm
from akuma.vfs.path import MAXSYMLINKS, PATH_MAX, check_name, check_path, join, split

_DOTS = (b".", b"..", b"/")      # final components that name no new entry
_SPECIAL = (st.S_IFCHR, st.S_IFBLK, st.S_IFIFO, st.S_IFSOCK)
_WRITE_ACC = (F.O_WRONLY, F.O_RDWR)
R_OK, W_OK, X_OK = 4, 2, 1


def _enoent(e):
    return e.errno == ENOENT


class Vfs(MountOps):
    def __init__(self, root_fs=None):
        self.root_mount = Mount(root_fs or MemFs())
        self._children = {}       # (Mount, dir inode key) -> {name: Mount}
        self._mounts = [self.root_mount]
        self._detached = []       # filesystems lazily unmounted (MNT_DETACH) while in use
        # Kernel hook for device/FIFO/socket nodes: (inode, flags) -> OpenFile,
        # or None to let the node's own driver serve the open.
        self.special_open = None

    # -- the mount table -----------------------------------------------------------------
    def _top(self):
        return Loc(self.root_mount, self.root_mount.root, ())

    def mount(self, path, fs, readonly=False):
        """Mount ``fs`` at absolute ``path`` (missing directories are made, or
        overlaid when the parent fs will not make them).  b"/" replaces the
        root; the other mounts are re-attached on the new root."""
        check_path(path)
        comps = [c for c in split(path) if c != b"."]
        if not comps:
            others = [m for m in self._mounts if m.parent is not None]
            self.root_mount = Mount(fs, path=b"/", readonly=readonly)
            self._children = {}
            self._mounts = [self.root_mount]
            for m in others:
                self.mount(m.path, m.fs, m.readonly)
            return self.root_mount
        top = self._top()
        d = top
        for name in comps[:-1]:
            d = self._mkdir_step(d, name, top)
        name = comps[-1]
        if name == b"..":
            raise KernelError(EINVAL)
        check_name(name)
        try:
            cur = self._step(d, name)
        except KernelError as e:
            if not _enoent(e):
                raise
            if d.mnt.fs.autocreate_mountpoints and not d.mnt.readonly:
                d.inode.mkdir(name, 0o755)
        else:
            if cur.inode.is_lnk:     # mount where the symlink points
                cur = self._walk_parts(d, [name], top, True, [MAXSYMLINKS], False)
                if not cur.inode.is_dir:
                    raise KernelError(ENOTDIR)
                return self.mount(cur.path, fs, readonly)
            if not cur.inode.is_dir:
                raise KernelError(ENOTDIR)
        return self._attach(d, name, fs, readonly)

    def _mkdir_step(self, d, name, top):
        if name == b"..":
            return self._up(d, top)
        check_name(name)
        try:
            nxt = self._step(d, name)
        except KernelError as e:
            if not _enoent(e):
                raise
            if d.mnt.fs.autocreate_mountpoints and not d.mnt.readonly:
                d.inode.mkdir(name, 0o755)
                nxt = self._step(d, name)
            else:    # e.g. a host sysroot: overlay an empty directory instead
                m = self._attach(d, name, MemFs(limit=1 << 20), False)
                nxt = Loc(m, m.root, d.parts + (name,))
        if nxt.inode.is_lnk:
            nxt = self._walk_parts(d, [name], top, True, [MAXSYMLINKS], False)
        if not nxt.inode.is_dir:
            raise KernelError(ENOTDIR)
        return nxt

    def _attach(self, d, name, fs, readonly):
        kids = self._children.setdefault((d.mnt, d.inode.key), {})
        m = Mount(fs, d.mnt, d.inode, name, join(d.parts + (name,)), readonly)
        m.covered = kids.get(name)
        kids[name] = m
        self._mounts.append(m)
        return m

    def umount(self, path):
        loc = self.resolve(path)
        m = loc.mnt
        if m.parent is None or loc.inode.key != m.root.key:
            raise KernelError(EINVAL)
        self.umount_mount(m)

    def sync_all(self):
        """sync(2): flush every mounted filesystem."""
        for fs in {id(fs): fs for fs in [m.fs for m in self._mounts] + self._detached}.values():
            fs.sync()

    def unmount_all(self):
        """Shutdown: unmount every filesystem, children first, each once;
        a filesystem that fails to flush does not stop the others."""
        errors = []
        done = set()
        mounts = sorted(self._mounts, key=lambda m: -m.path.count(b"/") - len(m.path))
        for path, fs in [(m.path, m.fs) for m in mounts] + [(b"(detached)", fs)
                                                             for fs in self._detached]:
            if id(fs) in done:
                continue
            done.add(id(fs))
            try:
                fs.unmount()
            except Exception as e:      # noqa: BLE001 — reported, the rest still flush
                errors.append((path, e))
        return errors

    def mounts(self):
        return list(self._mounts)

    # -- the path walk ---------------------------------------------------------------------
    def _rootloc(self, root):
        if isinstance(root, Loc):
            return Loc(root.mnt, root.inode, ())
        top = self._top()
        if root in (None, b"/"):
            return top
        loc = self._walk(root, top, top, True, [MAXSYMLINKS])
        if not loc.inode.is_dir:
            raise KernelError(ENOTDIR)
        return Loc(loc.mnt, loc.inode, ())

    def _start(self, path, cwd, rootloc):
        if path[:1] == b"/" or cwd is None:
            return rootloc
        if isinstance(cwd, OpenFile):
            cwd = cwd.loc if cwd.loc is not None else cwd.path
        if isinstance(cwd, Loc):
            return cwd
        if cwd == b"/":
            return rootloc
        loc = self._walk(cwd, rootloc, rootloc, True, [MAXSYMLINKS])
        if not loc.inode.is_dir:
            raise KernelError(ENOTDIR)
        return loc

    def _step(self, loc, name):
        """The entry ``name`` of directory ``loc``, crossing into a mount."""
        kids = self._children.get((loc.mnt, loc.inode.key))
        if kids:
            m = kids.get(name)
            if m is not None:
                return Loc(m, m.root, loc.parts + (name,))
        return Loc(loc.mnt, loc.inode.lookup(name), loc.parts + (name,))

    def _up(self, loc, rootloc):
        """``..``: stays at the process root, leaves a mount through its mount point."""
        if loc.same(rootloc):
            return loc
        parts = loc.parts[:-1]
        m = loc.mnt
        if m.parent is not None and loc.inode.key == m.root.key:
            return Loc(m.parent, m.parent_dir, parts)
        return Loc(m, loc.inode.lookup(b".."), parts)

    @staticmethod
    def _follow(inode, budget):
        budget[0] -= 1
        if budget[0] < 0:
            raise KernelError(ELOOP)
        target = inode.readlink()
        if not target:
            raise KernelError(ENOENT)
        if len(target) >= PATH_MAX:
            raise KernelError(ENAMETOOLONG)
        return target

    def _walk_parts(self, loc, stack, rootloc, follow, budget, trailing, cred=None):
        """Walk the components in ``stack`` (last one first) from ``loc``;
        ``cred`` (not root) needs search permission on every directory."""
        while stack:
            if not loc.inode.is_dir:
                raise KernelError(ENOTDIR)
            if cred is not None and not perm.allowed(loc.inode, cred, X_OK):
                raise KernelError(EACCES)
            name = stack.pop()
            if name == b".":
                continue
            if name == b"..":
                loc = self._up(loc, rootloc)
                continue
            check_name(name)
            nxt = self._step(loc, name)
            if nxt.inode.is_lnk and (stack or follow or trailing):
                magic = getattr(nxt.inode, "magic", None)
                if magic is not None:
                    # /proc/<pid>/fd/N, cwd, exe: Linux's magic links go to
                    # the object itself, not to the path they read as.
                    found = magic(nxt.mnt)
                    if found is not None:
                        budget[0] -= 1
                        loc = found
                        continue
                target = self._follow(nxt.inode, budget)
                if target[:1] == b"/":
                    loc = rootloc
                stack.extend(reversed(split(target)))
                continue
            loc = nxt
        if trailing and not loc.inode.is_dir:
            raise KernelError(ENOTDIR)
        return loc

    def _walk(self, path, start, rootloc, follow, budget, cred=None):
        check_path(path)
        stack = split(path)
        stack.reverse()
        loc = rootloc if path[:1] == b"/" else start
        return self._walk_parts(loc, stack, rootloc, follow, budget, path.endswith(b"/"), cred)

    def _parent(self, path, cwd, rootloc, budget=None, cred=None):
        """(directory Loc, final name, trailing slash) for the create-type calls.
        The final name may be b".", b".." or b"/" (the path was the root)."""
        check_path(path)
        comps = split(path)
        start = self._start(path, cwd, rootloc)
        if not comps:
            return rootloc, b"/", False
        stack = comps[:-1]
        stack.reverse()
        d = self._walk_parts(start, stack, rootloc, True, budget or [MAXSYMLINKS], False, cred)
        if not d.inode.is_dir:
            raise KernelError(ENOTDIR)
        name = comps[-1]
        if name not in _DOTS:
            check_name(name)
        return d, name, path.endswith(b"/")

    def _final(self, d, name, rootloc):
        if name == b"..":
            return self._up(d, rootloc)
        if name in _DOTS:
            return d
        return self._step(d, name)

    def _exists(self, d, name):
        try:
            self._step(d, name)
        except KernelError as e:
            if _enoent(e):
                return False
            raise
        return True

    # -- lookups -------------------------------------------------------------------------
    def resolve(self, path, cwd=b"/", root=b"/", follow=True, *, cred=None):
        """The Loc ``path`` names (the kernel keeps these as cwd if it likes)."""
        rootloc = self._rootloc(root)
        return self._walk(path, self._start(path, cwd, rootloc), rootloc, follow,
                          [MAXSYMLINKS], cred)

    def lookup(self, path, cwd=b"/", root=b"/", follow=True):
        return self.resolve(path, cwd, root, follow).inode

    def resolve_dir(self, path, cwd=b"/", root=b"/", *, cred=None):
        """chdir(2): the canonical path of directory ``path`` (ENOTDIR
        otherwise; EACCES without search permission on it)."""
        loc = self.resolve(path, cwd, root, cred=cred)
        if not loc.inode.is_dir:
            raise KernelError(ENOTDIR)
        perm.check(loc.inode, cred, X_OK)
        return loc.path

    def stat(self, path, cwd=b"/", follow=True, *, root=b"/", cred=None):
        return self.resolve(path, cwd, root, follow, cred=cred).inode.stat()

    def readlink(self, path, cwd=b"/", *, root=b"/", cred=None):
        inode = self.resolve(path, cwd, root, follow=False, cred=cred).inode
        if not inode.is_lnk:
            raise KernelError(EINVAL)
        return inode.readlink()

    def access(self, path, mode, cwd=b"/", *, root=b"/", follow=True, cred=None):
        """access(2): existence, EROFS for W_OK, then the mode bits for
        ``cred`` (None: root, whose X_OK needs an x bit on a non-directory)."""
        if mode & ~(R_OK | W_OK | X_OK):
            raise KernelError(EINVAL)
        loc = self.resolve(path, cwd, root, follow, cred=cred)
        inode = loc.inode
        if mode & W_OK and loc.mnt.readonly and inode.kind not in _SPECIAL:
            raise KernelError(EROFS)
        if cred is None:
            if mode & X_OK and not inode.is_dir and not inode.mode & 0o111:
                raise KernelError(EACCES)
        else:
            perm.check(inode, cred, mode)

    def open_exec(self, path, cwd=b"/", *, root=b"/", creds=None):
        """The program file execve(2) reads: search permission on the way,
        x for the caller (root: any x bit), a regular file, no noexec mount.
        ``creds``: the process's (euid, egid, groups), None for the kernel."""
        cred = None if creds is None else perm.fs_cred(creds.euid, creds.egid, creds.groups)
        loc = self.resolve(path, cwd, root, cred=cred)
        inode = loc.inode
        if inode.is_dir:
            raise KernelError(EACCES)
        if loc.mnt.noexec:
            raise KernelError(EACCES)
        perm.check_exec(inode, cred)
        perm.check(inode, cred, R_OK)
        f = inode.open(F.O_RDONLY)
        f.path = loc.path
        f.loc = loc
        return f

    # -- open --------------------------------------------------------------------------------
    def open(self, path, flags, mode=0o666, cwd=b"/", umask=0o022, *, root=b"/", uid=0, gid=0,
             cred=None):
        if flags & F.O_PATH:
            flags &= F.O_PATH | F.O_DIRECTORY | F.O_NOFOLLOW | F.O_CLOEXEC
        elif flags & F.O_TMPFILE == F.O_TMPFILE:
            raise KernelError(EOPNOTSUPP)
        if flags & F.O_CREAT and flags & F.O_DIRECTORY:
            raise KernelError(EINVAL)
        rootloc = self._rootloc(root)
        created = False
        if flags & F.O_CREAT:
            loc, created = self._open_create(path, cwd, rootloc, flags,
                                             mode & ~umask & 0o7777, uid, gid, cred)
        else:
            loc = self._walk(path, self._start(path, cwd, rootloc), rootloc,
                             not flags & F.O_NOFOLLOW, [MAXSYMLINKS], cred)
        inode = loc.inode
        acc = flags & F.O_ACCMODE
        if flags & F.O_DIRECTORY and not inode.is_dir:
            raise KernelError(ENOTDIR)
        if flags & F.O_PATH:
            f = OpenFile(inode, flags)
        else:
            if inode.is_lnk:
                raise KernelError(ELOOP)
            if inode.is_dir and (acc != F.O_RDONLY or flags & (F.O_CREAT | F.O_TRUNC)):
                raise KernelError(EISDIR)
            if (loc.mnt.readonly and not created and inode.kind not in _SPECIAL
                    and (acc in _WRITE_ACC or flags & F.O_TRUNC)):
                raise KernelError(EROFS)
            if not created:
                self._may_open(loc, acc, flags, cred)
            f = None
            # A node that is an open object's stand-in (a pipe behind
            # /proc/<pid>/fd/N) opens itself and keeps its own name.
            itself = getattr(inode, "opens_itself", False)
            if self.special_open is not None and inode.kind in _SPECIAL and not itself:
                f = self.special_open(inode, flags)
            if f is None:
                f = inode.open(flags)
            if itself:
                return f
        f.path = loc.path
        f.loc = loc
        if inode.is_dir:
            f.extra_dirents = self._overlay_dirents(loc)
        return f

    @staticmethod
    def _may_open(loc, acc, flags, cred):
        """may_open: the access mode against the mode bits; device nodes
        on a nodev mount refuse (EACCES)."""
        inode = loc.inode
        if inode.kind in (st.S_IFCHR, st.S_IFBLK) and loc.mnt.nodev:
            raise KernelError(EACCES)
        if cred is None:
            return
        want = (R_OK if acc in (F.O_RDONLY, F.O_RDWR) else 0) | \
            (W_OK if acc in _WRITE_ACC or flags & F.O_TRUNC else 0)
        perm.check(inode, cred, want)

    def _open_create(self, path, cwd, rootloc, flags, mode, uid, gid, cred=None):
        budget = [MAXSYMLINKS]
        while True:
            d, name, trailing = self._parent(path, cwd, rootloc, budget, cred)
            if name in _DOTS:
                if flags & F.O_EXCL:
                    raise KernelError(EEXIST)
                return self._final(d, name, rootloc), False     # a directory: EISDIR
            if trailing:
                raise KernelError(EISDIR)
            try:
                loc = self._step(d, name)
            except KernelError as e:
                if not _enoent(e):
                    raise
                if d.mnt.readonly:
                    raise KernelError(EROFS) from None
                perm.check(d.inode, cred, W_OK | X_OK)
                mode, gid = perm.new_owner(d.inode, mode, gid, cred)
                inode = d.inode.create(name, mode, uid, gid)
                return Loc(d.mnt, inode, d.parts + (name,)), True
            if flags & F.O_EXCL:
                raise KernelError(EEXIST)
            if loc.inode.is_lnk and not flags & F.O_NOFOLLOW:
                magic = getattr(loc.inode, "magic", None)
                found = magic(loc.mnt) if magic is not None else None
                if found is not None:
                    return found, False         # /proc/<pid>/fd/N: the object itself
                # O_CREAT follows a final symlink and may create its target.
                path, cwd = self._follow(loc.inode, budget), d
                continue
            return loc, False

    def _overlay_dirents(self, loc):
        kids = self._children.get((loc.mnt, loc.inode.key))
        if not kids:
            return ()
        return [(m.root.ino, DT_DIR, name) for name, m in kids.items()]

    # -- namespace changes ----------------------------------------------------------------
    def mkdir(self, path, mode=0o777, cwd=b"/", *, root=b"/", umask=0, uid=0, gid=0, cred=None):
        """mkdir(2).  ``mode`` is applied as given minus ``umask`` (default 0: the
        caller may pass an already-masked mode)."""
        d, name, _ = self._parent(path, cwd, self._rootloc(root), cred=cred)
        if name in _DOTS or self._exists(d, name):
            raise KernelError(EEXIST)
        if d.mnt.readonly:
            raise KernelError(EROFS)
        perm.check(d.inode, cred, W_OK | X_OK)
        mode, gid = perm.new_owner(d.inode, mode & ~umask & 0o7777, gid, cred, is_dir=True)
        d.inode.mkdir(name, mode, uid, gid)

    def mknod(self, path, mode, rdev=0, cwd=b"/", *, root=b"/", umask=0, uid=0, gid=0,
              cred=None):
        d, name, trailing = self._parent(path, cwd, self._rootloc(root), cred=cred)
        if name in _DOTS or self._exists(d, name):
            raise KernelError(EEXIST)
        if trailing:
            raise KernelError(ENOENT)
        if d.mnt.readonly:
            raise KernelError(EROFS)
        perm.check(d.inode, cred, W_OK | X_OK)
        bits, gid = perm.new_owner(d.inode, mode & ~umask & 0o7777, gid, cred)
        d.inode.mknod(name, (mode & st.S_IFMT) | bits, rdev, uid, gid)

    def symlink(self, target, linkpath, cwd=b"/", *, root=b"/", uid=0, gid=0, cred=None):
        if not target:
            raise KernelError(ENOENT)
        if len(target) >= PATH_MAX:
            raise KernelError(ENAMETOOLONG)
        d, name, trailing = self._parent(linkpath, cwd, self._rootloc(root), cred=cred)
        if name in _DOTS or self._exists(d, name):
            raise KernelError(EEXIST)
        if trailing:
            raise KernelError(ENOENT)
        if d.mnt.readonly:
            raise KernelError(EROFS)
        perm.check(d.inode, cred, W_OK | X_OK)
        _, gid = perm.new_owner(d.inode, 0o777, gid, cred)
        d.inode.symlink(name, target, uid, gid)

    def link(self, old, new, cwd=b"/", newcwd=None, *, root=b"/", follow=False, cred=None):
        rootloc = self._rootloc(root)
        src = self._walk(old, self._start(old, cwd, rootloc), rootloc, follow, [MAXSYMLINKS],
                         cred)
        d, name, trailing = self._parent(new, cwd if newcwd is None else newcwd, rootloc,
                                         cred=cred)
        if name in _DOTS or self._exists(d, name):
            raise KernelError(EEXIST)
        if trailing:
            raise KernelError(ENOENT)
        if src.mnt is not d.mnt:
            raise KernelError(EXDEV)
        if src.inode.is_dir:
            raise KernelError(EPERM)
        if d.mnt.readonly:
            raise KernelError(EROFS)
        perm.check(d.inode, cred, W_OK | X_OK)
        d.inode.link(name, src.inode)

    @staticmethod
    def _may_delete(d, victim, cred):
        """may_delete: w+x on the directory (EACCES), then the sticky bit (EPERM)."""
        perm.check(d.inode, cred, W_OK | X_OK)
        if perm.sticky_denies(d.inode, victim.inode, cred):
            raise KernelError(EPERM)

    def unlink(self, path, cwd=b"/", *, root=b"/", cred=None):
        d, name, trailing = self._parent(path, cwd, self._rootloc(root), cred=cred)
        if name in _DOTS:
            raise KernelError(EISDIR)
        if d.mnt.readonly:
            raise KernelError(EROFS)
        loc = self._step(d, name)
        self._may_delete(d, loc, cred)
        if loc.inode.is_dir:
            raise KernelError(EISDIR)
        if trailing:
            raise KernelError(ENOTDIR)
        d.inode.unlink(name)

    def rmdir(self, path, cwd=b"/", *, root=b"/", cred=None):
        rootloc = self._rootloc(root)
        d, name, _ = self._parent(path, cwd, rootloc, cred=cred)
        if name == b".":
            raise KernelError(EINVAL)
        if name == b"..":
            raise KernelError(ENOTEMPTY)
        if name == b"/":
            raise KernelError(EBUSY)
        if d.mnt.readonly:
            raise KernelError(EROFS)
        loc = self._step(d, name)
        self._may_delete(d, loc, cred)
        if not loc.inode.is_dir:
            raise KernelError(ENOTDIR)
        if loc.mnt is not d.mnt or loc.same(rootloc):
            raise KernelError(EBUSY)
        d.inode.rmdir(name)

    def rename(self, old, new, cwd=b"/", newcwd=None, *, root=b"/", cred=None):
        rootloc = self._rootloc(root)
        od, on, otrail = self._parent(old, cwd, rootloc, cred=cred)
        nd, nn, ntrail = self._parent(new, cwd if newcwd is None else newcwd, rootloc,
                                      cred=cred)
        if on in _DOTS or nn in _DOTS:
            raise KernelError(EBUSY)
        if od.mnt is not nd.mnt:
            raise KernelError(EXDEV)
        if od.mnt.readonly:
            raise KernelError(EROFS)
        src = self._step(od, on)
        if src.mnt is not od.mnt:
            raise KernelError(EBUSY)
        self._may_delete(od, src, cred)
        if (otrail or ntrail) and not src.inode.is_dir:
            raise KernelError(ENOTDIR)
        try:
            dst = self._step(nd, nn)
        except KernelError as e:
            if not _enoent(e):
                raise
            dst = None
        if dst is not None:
            if dst.mnt is not nd.mnt:
                raise KernelError(EBUSY)
            if dst.inode.key == src.inode.key:
                return
            self._may_delete(nd, dst, cred)
        else:
            perm.check(nd.inode, cred, W_OK | X_OK)
        if src.inode.is_dir and cred is not None and nd.inode.key != od.inode.key:
            perm.check(src.inode, cred, W_OK)    # its ".." entry changes
        if dst is not None:
            if src.inode.is_dir and not dst.inode.is_dir:
                raise KernelError(ENOTDIR)
            if not src.inode.is_dir and dst.inode.is_dir:
                raise KernelError(EISDIR)
        od.inode.rename(on, nd.inode, nn)

    # -- attributes ----------------------------------------------------------------------
    def _writable(self, path, cwd, root, follow):
        loc = self.resolve(path, cwd, root, follow)
        if loc.mnt.readonly:
            raise KernelError(EROFS)
        return loc.inode

    def chmod(self, path, mode, cwd=b"/", *, root=b"/", follow=True):
        self._writable(path, cwd, root, follow).chmod(mode & 0o7777)

    def chown(self, path, uid, gid, cwd=b"/", *, root=b"/", follow=True):
        self._writable(path, cwd, root, follow).chown(uid, gid)

    def utimens(self, path, atime_ns=None, mtime_ns=None, cwd=b"/", *, root=b"/", follow=True):
        self._writable(path, cwd, root, follow).utimens(atime_ns, mtime_ns)

    def truncate(self, path, length, cwd=b"/", *, root=b"/"):
        if length < 0:
            raise KernelError(EINVAL)
        loc = self.resolve(path, cwd, root)
        if loc.inode.is_dir:
            raise KernelError(EISDIR)
        if not loc.inode.is_reg:
            raise KernelError(EINVAL)
        if loc.mnt.readonly:
            raise KernelError(EROFS)
        loc.inode.truncate(length)
