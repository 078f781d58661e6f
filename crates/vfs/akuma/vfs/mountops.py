"""The mount table's changes as mount(2)/umount2(2) make them: attaching a
filesystem or a bind of a resolved Loc at a resolved target, remounting,
unmounting (busy checks, lazy detach).  Mixed into ``Vfs``; the syscall layer
decides permissions and which mounts are busy (it knows the processes)."""
from akuma.abi import KernelError
from akuma.abi.errors import EBUSY, EINVAL, ENOTDIR, EROFS

from akuma.vfs.mount import Mount
from akuma.vfs.path import MAXSYMLINKS, join


class MountOps:
    """Needs from Vfs: _children, _mounts, _detached, _step, _walk_parts, _top."""

    def mountpoint_of(self, loc, rootloc):
        """(directory Loc, name) holding the (already resolved) target ``loc``:
        a mount hangs off its parent directory's entry, like a dentry."""
        if not loc.parts:
            raise KernelError(EBUSY)         # stacking over the root is not supported
        stack = list(loc.parts[:-1])
        stack.reverse()
        d = self._walk_parts(rootloc, stack, rootloc, False, [MAXSYMLINKS], False)
        return d, loc.parts[-1]

    def attach_at(self, loc, rootloc, fs, path, *, readonly=False, flags=0, source=None,
                  root=None, root_path=b"/"):
        """Mount ``fs`` (or, with ``root``, a bind of that inode of ``fs``) over
        the resolved target ``loc``; ``path`` is its global path for the table."""
        new_root = fs.root if root is None else root
        if loc.inode.is_dir != new_root.is_dir:
            raise KernelError(ENOTDIR)
        d, name = self.mountpoint_of(loc, rootloc)
        kids = self._children.setdefault((d.mnt, d.inode.key), {})
        m = Mount(fs, d.mnt, d.inode, name, path, readonly, flags=flags, source=source,
                  root=root, root_path=root_path)
        m.covered = kids.get(name)
        kids[name] = m
        self._mounts.append(m)
        return m

    def bind(self, src, loc, rootloc, path, src_path, *, recursive=False):
        """A bind mount of ``src`` (a Loc) at ``loc``.  ``src_path`` is the
        source's global path; with ``recursive`` the mounts below it come too."""
        sm = src.mnt
        inner = src_path[len(sm.path):] if src_path.startswith(sm.path) else b""
        root_path = join(tuple(p for p in (sm.root_path + b"/" + inner).split(b"/") if p))
        m = self.attach_at(loc, rootloc, sm.fs, path, readonly=sm.readonly, flags=sm.flags,
                           source=sm.source, root=src.inode, root_path=root_path)
        if recursive:
            self._bind_below(sm, src_path, path, m)
        return m

    def _bind_below(self, sm, src_path, dst_path, new):
        prefix = src_path.rstrip(b"/") + b"/"
        below = [x for x in self._mounts if x.path.startswith(prefix) and x is not new
                 and self._reaches(x, sm)]
        below.sort(key=lambda x: x.path.count(b"/"))
        top = self._top()
        for x in below:
            target = dst_path.rstrip(b"/") + b"/" + x.path[len(prefix):]
            stack = [c for c in target.split(b"/") if c]
            stack.reverse()
            try:
                loc = self._walk_parts(top, stack, top, False, [MAXSYMLINKS], False)
                self.attach_at(loc, top, x.fs, target, readonly=x.readonly, flags=x.flags,
                               source=x.source, root=x.root, root_path=x.root_path)
            except KernelError:
                continue      # its mount point is not reachable in the copy

    @staticmethod
    def _reaches(x, ancestor):
        while x is not None:
            if x.parent is ancestor:
                return True
            x = x.parent
        return False

    def mount_root_of(self, loc):
        """The mount whose root ``loc`` is (EINVAL when it is not one)."""
        m = loc.mnt
        if loc.inode.key != m.root.key:
            raise KernelError(EINVAL)
        return m

    def remount(self, m, readonly, flags, bind_only=False, writers=()):
        """MS_REMOUNT: ``bind_only`` changes this mount's flags only; otherwise
        read-only-ness applies to every mount of the filesystem (its
        superblock) after a flush.  ``writers``: mounts with files open for
        writing (EBUSY when going read-only)."""
        if readonly and not m.readonly and any(w.fs is m.fs for w in writers) and not bind_only:
            raise KernelError(EBUSY)
        if not readonly and m.fs.readonly:
            raise KernelError(EROFS)
        m.flags = flags
        if bind_only:
            m.readonly = readonly
            return
        if readonly:
            m.fs.sync()
        for x in self._mounts:
            if x.fs is m.fs:
                x.readonly = readonly

    def umount_mount(self, m, *, detach=False, busy=()):
        """Take ``m`` off the table.  ``busy``: mounts something holds (open
        files, cwd, root).  Plain umount refuses a busy mount or one with
        mounts below it; ``detach`` (MNT_DETACH) takes the whole subtree off
        now and flushes a filesystem that is still held at shutdown."""
        if m.parent is None:
            raise KernelError(EBUSY)
        below = self._subtree(m)
        if not detach and (len(below) > 1 or m in busy):
            raise KernelError(EBUSY)
        for x in reversed(below):      # deepest first
            kids = self._children.get((x.parent, x.parent_dir.key), {})
            if kids.get(x.name) is x:
                if x.covered is not None:
                    kids[x.name] = x.covered
                else:
                    del kids[x.name]
            else:                      # x is covered by another mount: unlink it there
                for y in self._mounts:
                    if y.covered is x:
                        y.covered = x.covered
            self._mounts.remove(x)
        held = set(busy)
        for x in below:
            if any(y.fs is x.fs for y in self._mounts) or x.fs in self._detached:
                continue
            if x in held:
                self._detached.append(x.fs)    # still in use: flushed at unmount_all
            else:
                x.fs.unmount()

    def _subtree(self, m):
        out = [m]
        i = 0
        while i < len(out):
            out.extend(x for x in self._mounts if x.parent is out[i])
            i += 1
        return out
