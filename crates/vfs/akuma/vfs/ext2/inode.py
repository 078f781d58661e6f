"""ext2 inodes as VFS inodes: regular files, directories, symlinks and
device/FIFO/socket nodes, plus the open file for them.

An Ext2Inode wraps the parsed on-disk inode (``r``, a construct Container);
attribute changes mark it dirty and ``op`` writes it back into the block
cache when the operation ends.  Directories are linear (an htree directory
is read as one: its index blocks look like empty entries; any change clears
the index flag so e2fsck never sees a stale index)."""
import struct

from akuma.abi import KernelError, Stat, makedev
from akuma.abi import fcntl as F
from akuma.abi import stat as st
from akuma.abi.errors import (EEXIST, EFBIG, EINVAL, EISDIR, EMLINK, ENAMETOOLONG, ENOENT,
                              ENOSPC, ENOTDIR, ENOTEMPTY, ENXIO, EPERM, EXDEV)

from akuma.vfs.ext2 import layout as L
from akuma.vfs.ext2.blockio import dir_find_name, dir_find_slot, dir_max_slack
from akuma.vfs.ext2.fs import op
from akuma.vfs.inode import Inode
from akuma.vfs.openfile import InodeFile, OpenFile
from akuma.vfs.path import check_name

_NS = 1_000_000_000
_IBLOCK = struct.Struct("<15I")
_DHEAD = struct.Struct("<IHBB")


def _secs(ns):
    return max(0, min(0xFFFFFFFF, ns // _NS))


def decode_dev(b0, b1):
    """Linux's ext2 device encoding: old (8:8) in i_block[0], else new in i_block[1]."""
    if b0:
        return makedev((b0 >> 8) & 0xFF, b0 & 0xFF)
    return makedev((b1 & 0xFFF00) >> 8, (b1 & 0xFF) | ((b1 >> 12) & 0xFFF00))


def encode_dev(rdev):
    major = ((rdev >> 8) & 0xFFF) | ((rdev >> 32) & 0xFFFFF000)
    minor = (rdev & 0xFF) | ((rdev >> 12) & 0xFFFFFF00)
    if major < 256 and minor < 256:
        return (major << 8) | minor, 0
    return 0, ((minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)) & 0xFFFFFFFF


class Ext2Inode(Inode):
    def __init__(self, fs, ino, r):         # no Inode.__init__: ino and times are on disk
        self.fs = fs
        self.ino = ino
        self.r = r
        self.opencount = 0
        self.freed_ino = False
        self._goal = 0

    # -- raw fields as the Inode attributes -------------------------------------------------
    def dirty(self):
        self.fs._dirty_inodes.add(self)

    @property
    def mode(self):
        return self.r.i_mode

    @mode.setter
    def mode(self, value):
        self.r.i_mode = value & 0xFFFF
        self.dirty()

    @property
    def uid(self):
        return self.r.i_uid | (self.r.l_i_uid_high << 16)

    @uid.setter
    def uid(self, value):
        self.r.i_uid, self.r.l_i_uid_high = value & 0xFFFF, (value >> 16) & 0xFFFF
        self.dirty()

    @property
    def gid(self):
        return self.r.i_gid | (self.r.l_i_gid_high << 16)

    @gid.setter
    def gid(self, value):
        self.r.i_gid, self.r.l_i_gid_high = value & 0xFFFF, (value >> 16) & 0xFFFF
        self.dirty()

    @property
    def nlink(self):
        return self.r.i_links_count

    @nlink.setter
    def nlink(self, value):
        self.r.i_links_count = max(0, min(0xFFFF, value))
        self.dirty()

    @property
    def rdev(self):
        if self.kind in (st.S_IFCHR, st.S_IFBLK):
            return decode_dev(self.r.i_block[0], self.r.i_block[1])
        return 0

    @rdev.setter
    def rdev(self, value):
        pass

    def _time(name):                # noqa: N805 — a property factory
        def get(self):
            return getattr(self.r, name) * _NS

        def set_(self, ns):
            setattr(self.r, name, _secs(ns))
            self.dirty()
        return property(get, set_)

    atime_ns = _time("i_atime")
    mtime_ns = _time("i_mtime")
    ctime_ns = _time("i_ctime")
    del _time

    @property
    def size(self):
        if self.kind == st.S_IFREG:
            return self.r.i_size | (self.r.i_size_high << 32)
        return self.r.i_size

    def set_size(self, n):
        if self.kind == st.S_IFREG:
            self.r.i_size, self.r.i_size_high = n & 0xFFFFFFFF, n >> 32
            if n > 0x7FFFFFFF:
                self.fs.set_large_file()
        else:
            self.r.i_size = n
        self.dirty()

    # -- blocks ----------------------------------------------------------------------------
    def is_fast_symlink(self):
        acl = self.fs.bs // 512 if self.r.i_file_acl else 0
        return self.r.i_blocks - acl == 0

    def has_block_map(self):
        k = self.kind
        if k in (st.S_IFREG, st.S_IFDIR):
            return True
        return k == st.S_IFLNK and not self.is_fast_symlink()

    def goal(self):
        if self._goal:
            return self._goal + 1
        g = (self.ino - 1) // self.fs.ipg
        return self.fs.group_range(g)[0]

    def add_blocks(self, n, b=0):
        self.r.i_blocks = max(0, min(0xFFFFFFFF, self.r.i_blocks + n * (self.fs.bs // 512)))
        if b:
            self._goal = b
        self.dirty()

    def maybe_release(self):
        if self.r.i_links_count == 0 and self.opencount <= 0:
            self.fs.release_inode(self)

    # -- attributes ------------------------------------------------------------------------
    @op
    def stat(self):
        return Stat(mode=self.mode, size=self.size, ino=self.ino, dev=self.fs.dev,
                    nlink=self.nlink, uid=self.uid, gid=self.gid, rdev=self.rdev,
                    blksize=self.fs.bs, blocks=self.r.i_blocks, atime_ns=self.atime_ns,
                    mtime_ns=self.mtime_ns, ctime_ns=self.ctime_ns)

    @op
    def chmod(self, mode):
        self.fs.write_check()
        super().chmod(mode)

    @op
    def chown(self, uid, gid):
        self.fs.write_check()
        super().chown(uid, gid)

    @op
    def utimens(self, atime_ns=None, mtime_ns=None):
        self.fs.write_check()
        super().utimens(atime_ns, mtime_ns)

    # -- opening ---------------------------------------------------------------------------
    @op
    def open(self, flags):
        f = Ext2OpenFile(self, flags)
        self.opencount += 1
        return f

    def __repr__(self):
        return f"<{type(self).__name__} {self.ino} mode={self.mode:#o}>"


class Ext2File(Ext2Inode):
    @op
    def open(self, flags):
        if flags & F.O_TRUNC and not flags & F.O_PATH:
            self.fs.write_check()
            self._truncate(0)
        f = Ext2OpenFile(self, flags)
        self.opencount += 1
        return f

    @op
    def truncate(self, length):
        self.fs.write_check()
        self._truncate(length)

    def _truncate(self, length):
        fs = self.fs
        if length < 0:
            raise KernelError(EINVAL)
        if length > fs.max_size:
            raise KernelError(EFBIG)
        if length < self.size:
            bs = fs.bs
            fs.truncate_blocks(self, -(-length // bs))
            boff = length % bs
            if boff:
                pb = fs.bmap(self, length // bs)
                if pb:
                    buf = fs.bdev.get(pb)
                    buf[boff:] = bytes(bs - boff)
                    fs.bdev.put(pb, buf)
        self.set_size(length)
        self.touch()

    @op
    def read_at(self, n, off):
        size = self.size
        if n <= 0 or off >= size:
            return b""
        out = bytearray(min(n, size - off))
        k = self._read_into(memoryview(out), off)
        return bytes(out[:k]) if k < len(out) else bytes(out)

    @op
    def readinto_at(self, views, off):
        total = 0
        for v in views:
            mv = memoryview(v)
            if mv.format != "B" or mv.ndim != 1:
                mv = mv.cast("B")
            k = self._read_into(mv, off + total)
            total += k
            if k < len(mv):
                break
        return total

    def _read_into(self, mv, off):
        """Fill ``mv`` from ``off`` (up to the end of the file): whole blocks
        a physically contiguous run at a time, straight into ``mv``."""
        size = self.size
        if off >= size:
            return 0
        n = min(len(mv), size - off)
        fs = self.fs
        bs = fs.bs
        bdev = fs.bdev
        done = 0
        while done < n:
            pos = off + done
            lblk, boff = divmod(pos, bs)
            if boff == 0 and n - done >= bs:
                pb, cnt, _new = fs.map_run(self, lblk, (n - done) // bs)
                k = cnt * bs
                if pb:
                    bdev.read_run(pb, mv[done:done + k])
                else:
                    mv[done:done + k] = bytes(k)
            else:
                k = min(bs - boff, n - done)
                pb, _cnt, _new = fs.map_run(self, lblk, 1)
                if pb:
                    mv[done:done + k] = bdev.get(pb)[boff:boff + k]
                else:
                    mv[done:done + k] = bytes(k)
            done += k
        return done

    @op
    def write_at(self, data, off):
        fs = self.fs
        fs.write_check()
        mv = memoryview(data).cast("B")
        n = len(mv)
        if n == 0:
            return 0
        if off < 0:
            raise KernelError(EINVAL)
        if off >= fs.max_size:
            raise KernelError(EFBIG)
        n = min(n, fs.max_size - off)
        bs = fs.bs
        done = 0
        try:
            while done < n:
                pos = off + done
                lblk, boff = divmod(pos, bs)
                k = min(bs - boff, n - done)
                if k == bs and n - done >= 2 * bs:
                    # whole blocks: map (allocate) a contiguous run, one host write
                    try:
                        pb, cnt, _new = fs.map_run(self, lblk, (n - done) // bs, alloc=True)
                    except KernelError as e:
                        if e.errno == ENOSPC and done:
                            break
                        raise
                    fs.bdev.write_run(pb, mv[done:done + cnt * bs])
                    done += cnt * bs
                    continue
                try:
                    pb, new = fs.bmap(self, lblk, alloc=True)
                except KernelError as e:
                    if e.errno == ENOSPC and done:
                        break
                    raise
                if k == bs:
                    fs.bdev.put(pb, bytearray(mv[done:done + k]))
                else:
                    buf = fs.bdev.zero(pb) if new else fs.bdev.get(pb)
                    buf[boff:boff + k] = mv[done:done + k]
                    fs.bdev.put(pb, buf)
                done += k
        finally:
            if done:
                if off + done > self.size:
                    self.set_size(off + done)
                self.touch()
        return done


class Ext2Symlink(Ext2Inode):
    @op
    def readlink(self):
        size = self.r.i_size
        if self.is_fast_symlink():
            if size >= L.FAST_SYMLINK_MAX:
                self.fs.error(f"inode {self.ino}: fast symlink of length {size}")
            return _IBLOCK.pack(*self.r.i_block)[:size]
        pb = self.fs.bmap(self, 0)
        if not pb:
            self.fs.error(f"inode {self.ino}: symlink without a block")
        return bytes(self.fs.bdev.get(pb)[:size])


class Ext2Node(Ext2Inode):
    """Device, FIFO and socket nodes: served by a driver (devfs's registry,
    or the kernel's Vfs.special_open for FIFOs/sockets)."""

    @op
    def open(self, flags):
        if flags & F.O_PATH:
            return OpenFile(self, flags)
        driver = None
        if self.kind in (st.S_IFCHR, st.S_IFBLK):
            from akuma.vfs.devfs import device_driver
            driver = device_driver(self.kind, self.rdev)
        if driver is None:
            raise KernelError(ENXIO)
        return driver(self, flags)


class Ext2Dir(Ext2Inode):
    def __init__(self, fs, ino, r):
        super().__init__(fs, ino, r)
        self._dents = None        # name -> (ino, file_type), all entries incl. . and ..
        self._where = {}          # name -> logical block of its entry
        self._slack = []          # logical block -> largest free space in it
        self.dead = False         # removed (rmdir / replaced by rename)

    # -- reading ---------------------------------------------------------------------------
    def _blocks(self):
        fs = self.fs
        for lb in range(self.r.i_size // fs.bs):
            pb = fs.bmap(self, lb)
            if not pb:
                fs.error(f"directory {self.ino}: hole at block {lb}")
            yield lb, pb, fs.bdev.get(pb)

    def _parse(self, lb, buf):
        fs = self.fs
        return L.parse_dir_block(buf, fs.bs, fs.ninodes, f"directory {self.ino} block {lb}")

    def _scan(self):
        """name -> (ino, file_type), built on first use and kept in step with
        every change; alongside it ``_where`` (name -> logical block of its
        entry) and ``_slack`` (per block: the largest free space of one entry),
        so lookup, create and remove touch one block, not the whole directory."""
        if self._dents is None:
            if self.dead:
                return {}
            d, where, slack = {}, {}, []
            for lb, _pb, buf in self._blocks():
                best = 0
                for _off, ino, rec, name, _ft in self._parse(lb, buf):
                    used = L.rec_len_for(len(name)) if ino else 0
                    if rec - used > best:
                        best = rec - used
                    if ino and name not in d:
                        d[name] = (ino, _ft)
                        where[name] = lb
                slack.append(best)
            self._where, self._slack = where, slack
            self._dents = d
        return self._dents

    def _block(self, lb):
        fs = self.fs
        pb = fs.bmap(self, lb)
        if not pb:
            fs.error(f"directory {self.ino}: hole at block {lb}")
        return pb, fs.bdev.get(pb)

    def _reslack(self, lb, buf):
        s = dir_max_slack(buf)
        if s < 0:
            self.fs.error(f"directory {self.ino} block {lb}: damaged entries")
        self._slack[lb] = s

    @op
    def lookup(self, name):
        if name == b".":
            return self
        if self.dead:
            raise KernelError(ENOENT)
        d = self._scan()
        if name == b"..":
            if self.ino == L.ROOT_INO:
                return self
            e = d.get(b"..")
            if e is None:
                self.fs.error(f"directory {self.ino} has no '..'")
            parent = self.fs.iget(e[0], f"directory {self.ino} '..'")
            if not parent.is_dir:
                self.fs.error(f"directory {self.ino}: '..' is not a directory")
            return parent
        e = d.get(name)
        if e is None:
            check_name(name)
            raise KernelError(ENOENT)
        return self.fs.iget(e[0], f"directory {self.ino} entry {name!r}")

    @op
    def entries(self):
        ft = self.fs.filetype
        return [(name, ino, L.dt_of_ft(t) if ft else 0)
                for name, (ino, t) in self._scan().items() if name not in (b".", b"..")]

    # -- entry changes -----------------------------------------------------------------------
    def _changed(self):
        if self.r.i_flags & L.INDEX_FL:
            self.r.i_flags &= ~L.INDEX_FL & 0xFFFFFFFF
        self.touch()

    def _ft(self, inode):
        return L.ft_of_mode(inode.mode) if self.fs.filetype else 0

    def _add_entry(self, name, inode):
        fs = self.fs
        self._scan()
        need = L.rec_len_for(len(name))
        ft = self._ft(inode)
        slack = self._slack
        placed = -1
        for lb, free in enumerate(slack):
            if free < need:
                continue
            pb, buf = self._block(lb)
            off = dir_find_slot(buf, need)
            if off == -2:
                fs.error(f"directory {self.ino} block {lb}: damaged entries")
            if off < 0:                      # stale figure: fix it and go on
                self._reslack(lb, buf)
                continue
            ino, rec, nl, eft = _DHEAD.unpack_from(buf, off)
            if ino:
                used = L.rec_len_for(nl)
                _DHEAD.pack_into(buf, off, ino, used, nl, eft)
                off, rec = off + used, rec - used
            L.put_dirent(buf, off, inode.ino, rec, name, ft)
            fs.bdev.put(pb, buf)
            self._reslack(lb, buf)
            placed = lb
            break
        if placed < 0:
            lb = self.r.i_size // fs.bs
            pb, _new = fs.bmap(self, lb, alloc=True)
            buf = bytearray(fs.bs)
            L.put_dirent(buf, 0, inode.ino, fs.bs, name, ft)
            fs.bdev.put(pb, buf)
            self.set_size(self.r.i_size + fs.bs)
            slack.append(fs.bs - need)
            placed = lb
        if name not in self._dents:
            self._where[name] = placed
        self._dents[name] = (inode.ino, ft)
        self._changed()

    def _find(self, name):
        """(lb, pb, buf, off, prev) of the live entry ``name``."""
        self._scan()
        lb = self._where.get(name)
        if lb is None:
            raise KernelError(ENOENT)
        pb, buf = self._block(lb)
        hit = dir_find_name(buf, name)
        if hit is None:
            self.fs.error(f"directory {self.ino}: entry {name!r} not in block {lb}")
        return lb, pb, buf, hit[0], hit[1]

    def _remove_entry(self, name):
        fs = self.fs
        lb, pb, buf, off, prev = self._find(name)
        ino, rec, nl, eft = _DHEAD.unpack_from(buf, off)
        if prev >= 0:
            pino, prec, pnl, pft = _DHEAD.unpack_from(buf, prev)
            _DHEAD.pack_into(buf, prev, pino, prec + rec, pnl, pft)
        else:
            _DHEAD.pack_into(buf, off, 0, rec, nl, eft)
        fs.bdev.put(pb, buf)
        self._reslack(lb, buf)
        del self._dents[name]
        del self._where[name]
        self._changed()
        return ino

    def _set_entry(self, name, inode):
        fs = self.fs
        ft = self._ft(inode)
        lb, pb, buf, off, _prev = self._find(name)
        _ino, rec, nl, _eft = _DHEAD.unpack_from(buf, off)
        _DHEAD.pack_into(buf, off, inode.ino, rec, nl, ft)
        fs.bdev.put(pb, buf)
        self._dents[name] = (inode.ino, ft)
        self._changed()

    def _check_new(self, name):
        self.fs.write_check()
        if not name or b"/" in name or name in (b".", b".."):
            raise KernelError(EEXIST if name in (b".", b"..") else EINVAL)
        check_name(name)
        if self.dead:
            raise KernelError(ENOENT)
        if name in self._scan():
            raise KernelError(EEXIST)

    def _make(self, name, mode, uid, gid, init=None):
        """New inode + its entry; on failure nothing is left allocated."""
        self._check_new(name)
        inode = self.fs.new_inode(mode, uid, gid, self)
        try:
            if init is not None:
                init(inode)
            self._add_entry(name, inode)
        except BaseException:
            inode.r.i_links_count = 0
            self.fs.release_inode(inode)
            raise
        return inode

    @op
    def create(self, name, mode, uid=0, gid=0):
        return self._make(name, st.S_IFREG | (mode & 0o7777), uid, gid)

    @op
    def mkdir(self, name, mode, uid=0, gid=0):
        if self.r.i_links_count >= L.LINK_MAX:
            raise KernelError(EMLINK)
        fs = self.fs

        def init(d):
            pb, _new = fs.bmap(d, 0, alloc=True)
            buf = bytearray(fs.bs)
            ft = L.FT_DIR if fs.filetype else 0
            L.put_dirent(buf, 0, d.ino, 12, b".", ft)
            L.put_dirent(buf, 12, self.ino, fs.bs - 12, b"..", ft)
            fs.bdev.put(pb, buf)
            d.set_size(fs.bs)
            d.r.i_links_count = 2
        d = self._make(name, st.S_IFDIR | (mode & 0o7777), uid, gid, init)
        self.nlink = self.r.i_links_count + 1
        return d

    @op
    def mknod(self, name, mode, rdev=0, uid=0, gid=0):
        kind = mode & st.S_IFMT
        if kind in (0, st.S_IFREG):
            return self._make(name, st.S_IFREG | (mode & 0o7777), uid, gid)
        if kind not in (st.S_IFCHR, st.S_IFBLK, st.S_IFIFO, st.S_IFSOCK):
            raise KernelError(EINVAL)

        def init(n):
            if kind in (st.S_IFCHR, st.S_IFBLK):
                b0, b1 = encode_dev(rdev)
                n.r.i_block[0], n.r.i_block[1] = b0, b1
        return self._make(name, kind | (mode & 0o7777), uid, gid, init)

    @op
    def symlink(self, name, target, uid=0, gid=0):
        target = bytes(target)
        fs = self.fs
        if not target:
            raise KernelError(ENOENT)
        if len(target) >= fs.bs or len(target) >= 4096:
            raise KernelError(ENAMETOOLONG)

        def init(s):
            if len(target) < L.FAST_SYMLINK_MAX:
                s.r.i_block = list(_IBLOCK.unpack(target.ljust(60, b"\0")))
            else:
                pb, _new = fs.bmap(s, 0, alloc=True)
                buf = bytearray(fs.bs)
                buf[:len(target)] = target
                fs.bdev.put(pb, buf)
            s.set_size(len(target))
        return self._make(name, st.S_IFLNK | 0o777, uid, gid, init)

    @op
    def link(self, name, inode):
        if not isinstance(inode, Ext2Inode) or inode.fs is not self.fs:
            raise KernelError(EXDEV)
        if inode.is_dir:
            raise KernelError(EPERM)
        self._check_new(name)
        if inode.r.i_links_count >= L.LINK_MAX:
            raise KernelError(EMLINK)
        if inode.r.i_links_count == 0:
            raise KernelError(ENOENT)
        self._add_entry(name, inode)
        inode.nlink = inode.r.i_links_count + 1
        inode.touch(m=False)

    def _child(self, name):
        if name in (b".", b".."):
            raise KernelError(EINVAL)
        e = self._scan().get(name)
        if e is None:
            check_name(name)
            raise KernelError(ENOENT)
        return self.fs.iget(e[0], f"directory {self.ino} entry {name!r}")

    @op
    def unlink(self, name):
        self.fs.write_check()
        inode = self._child(name)
        if inode.is_dir:
            raise KernelError(EISDIR)
        self._remove_entry(name)
        inode.nlink = inode.r.i_links_count - 1
        inode.touch(m=False)
        inode.maybe_release()

    def _empty(self):
        return all(n in (b".", b"..") for n in self._scan())

    @op
    def rmdir(self, name):
        self.fs.write_check()
        d = self._child(name)
        if not d.is_dir:
            raise KernelError(ENOTDIR)
        if not d._empty():
            raise KernelError(ENOTEMPTY)
        self._remove_entry(name)
        self._kill_dir(d)
        self.nlink = self.r.i_links_count - 1

    def _kill_dir(self, d):
        d.nlink = 0
        d.dead = True
        d._dents, d._where = {}, {}
        d.touch(m=False)
        d.maybe_release()

    @op
    def rename(self, oldname, newdir, newname):
        fs = self.fs
        fs.write_check()
        if not isinstance(newdir, Ext2Dir) or newdir.fs is not fs:
            raise KernelError(EXDEV)
        if newname in (b".", b"..") or not newname or b"/" in newname:
            raise KernelError(EINVAL)
        check_name(newname)
        if newdir.dead:
            raise KernelError(ENOENT)
        src = self._child(oldname)
        e = newdir._scan().get(newname)
        dst = fs.iget(e[0], f"directory {newdir.ino} entry {newname!r}") if e else None
        if dst is src:
            return
        if src.is_dir:
            d, seen = newdir, set()          # no moving a directory under itself
            while True:
                if d is src:
                    raise KernelError(EINVAL)
                if d.ino == L.ROOT_INO:
                    break
                if d.ino in seen or len(seen) > fs.ninodes:
                    fs.error(f"directory loop above inode {newdir.ino}")
                seen.add(d.ino)
                d = d.lookup(b"..")
            if dst is not None:
                if not dst.is_dir:
                    raise KernelError(ENOTDIR)
                if not dst._empty():
                    raise KernelError(ENOTEMPTY)
            elif newdir is not self and newdir.r.i_links_count >= L.LINK_MAX:
                raise KernelError(EMLINK)
        elif dst is not None and dst.is_dir:
            raise KernelError(EISDIR)
        if dst is not None:
            newdir._set_entry(newname, src)
            if dst.is_dir:
                self_is_parent = newdir
                self_is_parent._kill_dir(dst)
            else:
                dst.nlink = dst.r.i_links_count - 1
                dst.touch(m=False)
                dst.maybe_release()
        else:
            newdir._add_entry(newname, src)
            if src.is_dir:
                newdir.nlink = newdir.r.i_links_count + 1
        self._remove_entry(oldname)
        if src.is_dir:
            if newdir is not self:
                src._set_entry(b"..", newdir)
            self.nlink = self.r.i_links_count - 1
        src.touch(m=False)


_CLASSES = {st.S_IFREG: Ext2File, st.S_IFDIR: Ext2Dir, st.S_IFLNK: Ext2Symlink}


def inode_class(kind):
    return _CLASSES.get(kind, Ext2Node)


class Ext2OpenFile(InodeFile):
    """An open ext2 inode: counts opens, so an unlinked file keeps its blocks
    until the last close."""

    def fsync(self):
        super().fsync()
        self.inode.fs.sync()

    def close(self):
        if self.closed:
            return
        self.closed = True
        inode = self.inode
        inode.opencount -= 1
        if not inode.fs.closed and not inode.fs.readonly:
            _release(inode)


@op
def _release(inode):
    inode.maybe_release()
