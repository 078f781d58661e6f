"""Ext2Fs: an ext2 (revision 1) image file mounted in the VFS.

The filesystem object owns the image fd, the parsed superblock and group
descriptors, the block cache (``BlockDev``, Cython), the inode cache (one
Ext2Inode object per live inode number, so identity and open counts are
stable), block/inode allocation with the bitmaps, and the block map (direct,
single, double and triple indirect blocks).

Every public operation runs under ``op``: it writes the inodes, group
descriptors and superblock it changed into the block cache when the
outermost call returns, and turns any stray exception into KernelError(EIO)
(set STRICT = True to see the original exception, as the tests do).  Data
reaches the image at sync()/fsync()/unmount() (or when the cache is full),
except whole-block runs of file data: ``map_run`` maps (or allocates) them
contiguously and the file code writes/reads them with one host call."""
import collections
import fcntl as _hfcntl
import functools
import logging
import os
import random
import time
import weakref

from construct import Container

from akuma.abi import KernelError
from akuma.abi import stat as st
from akuma.abi.errors import EBUSY, EINVAL, EIO, ENOSPC, EROFS

from akuma.vfs.ext2 import layout as L
from akuma.vfs.ext2.blockio import (BlockDev, clear_bits, find_zero_bit, get_u32, is_zero,
                                   set_bits, set_u32, set_u32_run, u32_list, u32_run,
                                   zero_run)
from akuma.vfs.inode import FileSystem

log = logging.getLogger("akuma.vfs.ext2")

STRICT = False       # re-raise non-KernelError exceptions (tests) instead of EIO


def now_s():
    return int(time.time()) & 0xFFFFFFFF


def op(fn):
    """Wrap a public operation of an Ext2Fs or of one of its inodes/files."""
    @functools.wraps(fn)
    def wrapper(self, *args, **kw):
        fs = self if isinstance(self, Ext2Fs) else self.fs
        if fs.closed:
            raise KernelError(EIO, "ext2: filesystem is unmounted")
        fs._depth += 1
        ok = False
        try:
            result = fn(self, *args, **kw)
            ok = True
            return result
        except KernelError:
            raise
        except RecursionError:
            raise KernelError(EIO, "ext2: structure too deep") from None
        except Exception as e:
            if STRICT:
                raise
            log.exception("ext2: %s failed", fn.__name__)
            raise KernelError(EIO, f"ext2: {fn.__name__}: {type(e).__name__}: {e}") from None
        finally:
            fs._depth -= 1
            if fs._depth == 0 and not fs.closed:
                try:
                    fs._commit()
                except KernelError:
                    if ok:
                        raise
                except Exception as e:   # noqa: BLE001 — never leak another type
                    if STRICT:
                        raise
                    if ok:
                        raise KernelError(EIO, f"ext2: commit: {e}") from None
    return wrapper


class Ext2Fs(FileSystem):
    """ext2 on the host file ``image_path``.

    ``readonly``: mount read-only (also forced by unknown RO_COMPAT features;
    ``mount_note`` then says why).  Unknown INCOMPAT features refuse the mount
    (KernelError(EINVAL) naming them); a damaged superblock or group
    descriptor table refuses it with KernelError(EIO)."""

    fstype = b"ext2"
    autocreate_mountpoints = True

    def __init__(self, image_path, readonly=False):
        super().__init__()
        self.image_path = os.fsencode(image_path)
        self.readonly = bool(readonly)
        self.mount_note = ""
        self.closed = True           # until mounted
        self.errors_seen = False
        self._depth = 0
        # ino -> live inode object; weak: the VFS's references (Locs, open files)
        # keep an inode alive, dirty ones stay in _dirty_inodes until written
        self._icache = weakref.WeakValueDictionary()
        # and the most recently used ones held strongly: guest paths are walked
        # afresh at every call (cwd is a path), so without this a directory's
        # parsed entries and a file's block map would be rebuilt per syscall
        self._recent = collections.OrderedDict()
        self._dirty_inodes = set()
        self._dirty_groups = set()
        self._sb_dirty = False
        flags = (os.O_RDONLY if self.readonly else os.O_RDWR) | os.O_CLOEXEC
        try:
            fd = os.open(self.image_path, flags)
        except OSError as e:
            raise KernelError(e.errno or EIO, f"ext2: cannot open {image_path!r}: "
                              f"{e.strerror}") from None
        self.fd = fd
        try:
            self._mount()
        except KernelError:
            os.close(fd)
            raise
        except Exception as e:     # noqa: BLE001 — a mount error, whatever the cause
            os.close(fd)
            if STRICT:
                raise
            raise KernelError(EIO, f"ext2: cannot mount {image_path!r}: "
                              f"{type(e).__name__}: {e}") from None

    # -- mount ---------------------------------------------------------------------------
    def _mount(self):
        fd = self.fd
        st_ = os.fstat(fd)
        image_size = st_.st_size
        if not (st_.st_mode & 0o170000 == 0o100000):
            try:
                image_size = os.lseek(fd, 0, os.SEEK_END)
            except OSError:
                image_size = 0
        raw = os.pread(fd, L.SUPERBLOCK_SIZE, L.SUPERBLOCK_OFFSET)
        if len(raw) < L.SUPERBLOCK_SIZE:
            raise KernelError(EINVAL, "ext2: image too small for a superblock")
        sb = L.parse(L.SUPERBLOCK_C, raw, "superblock")
        if sb.s_magic != L.EXT2_MAGIC:
            raise KernelError(EINVAL, f"ext2: no ext2 superblock (magic {sb.s_magic:#06x})")
        name = self.image_path.decode(errors="replace")
        incompat = sb.s_feature_incompat & ~L.SUPPORTED_INCOMPAT
        if incompat:
            raise KernelError(EINVAL, f"ext2: cannot mount {name}: unsupported INCOMPAT "
                              f"features: {L.feature_names(incompat, L.INCOMPAT)}")
        ro = sb.s_feature_ro_compat & ~L.SUPPORTED_RO_COMPAT
        notes = []
        if ro and not self.readonly:
            self.readonly = True
            notes.append(f"unsupported RO_COMPAT features "
                         f"({L.feature_names(ro, L.RO_COMPAT)}): mounted read-only")
        bs, groups, isz, first_ino, gdt_blocks = L.check_superblock(sb, image_size)
        if not sb.s_state & L.VALID_FS:
            notes.append("filesystem was not cleanly unmounted; e2fsck is recommended")
        if sb.s_state & L.ERROR_FS:
            notes.append("filesystem has errors; e2fsck is recommended")
        self.sb = sb
        self.bs = bs
        self.bits = 10 + sb.s_log_block_size
        self.apb = bs // 4
        self.ngroups = groups
        self.isz = isz
        self.first_ino = first_ino
        self.gdt_blocks = gdt_blocks
        self.fdb = sb.s_first_data_block
        self.bpg = sb.s_blocks_per_group
        self.ipg = sb.s_inodes_per_group
        self.nblocks = sb.s_blocks_count
        self.ninodes = sb.s_inodes_count
        self.itb = -(-self.ipg * isz // bs)
        self.filetype = bool(sb.s_feature_incompat & L.INCOMPAT_FILETYPE)
        self.sparse_super = bool(sb.s_feature_ro_compat & L.RO_COMPAT_SPARSE_SUPER)
        self.reserved_gdt = (sb.s_reserved_gdt_blocks
                             if sb.s_feature_compat & L.COMPAT_RESIZE_INODE else 0)
        self.max_size = L.max_file_size(self.bits)
        self.bdev = BlockDev(self.fd, bs, self.nblocks, self.readonly)
        if not self.readonly:
            try:
                _hfcntl.flock(self.fd, _hfcntl.LOCK_EX | _hfcntl.LOCK_NB)
            except OSError:
                raise KernelError(EBUSY, f"ext2: {name} is mounted read-write elsewhere") \
                    from None
        # group descriptors
        gdt_start = self.fdb + 1
        self.gds = []
        per_block = bs // L.GROUP_DESC_SIZE
        for g in range(groups):
            blk, idx = divmod(g, per_block)
            buf = self.bdev.get(gdt_start + blk)
            off = idx * L.GROUP_DESC_SIZE
            gd = L.parse(L.GROUP_DESC_C, buf[off:off + L.GROUP_DESC_SIZE],
                         f"group descriptor {g}")
            start, end = self.group_range(g)
            meta_end = start + (1 + gdt_blocks + self.reserved_gdt if self.has_super(g) else 0)
            L.check_group(g, gd, start, end, self.itb, self.ipg, meta_end)
            self.gds.append(gd)
        self._index_meta()
        self.mount_note = "; ".join(notes)
        self.state_at_mount = sb.s_state
        self.features_at_mount = (sb.s_feature_compat, sb.s_feature_incompat,
                                  sb.s_feature_ro_compat)
        self.closed = False
        root = self.iget(L.ROOT_INO)
        if not root.is_dir:
            self.closed = True
            raise L.Corrupt("the root inode is not a directory")
        self.root = root
        if not self.readonly:
            sb.s_state &= ~L.VALID_FS & 0xFFFF
            sb.s_mnt_count = (sb.s_mnt_count + 1) & 0xFFFF
            sb.s_mtime = now_s()
            self._write_super()
            self.bdev.flush(True)

    # -- geometry ------------------------------------------------------------------------
    def group_range(self, g):
        start = self.fdb + g * self.bpg
        return start, min(start + self.bpg, self.nblocks)

    def has_super(self, g):
        return L.group_has_super(g, self.sparse_super)

    def group_of_block(self, b):
        return (b - self.fdb) // self.bpg

    def is_meta(self, b):
        """Block ``b`` holds filesystem metadata (superblock/descriptor copies,
        reserved descriptor blocks, bitmaps, inode table)."""
        g = (b - self.fdb) // self.bpg
        meta_end, bb, ib, it, it_end = self._meta[g]
        return b < meta_end or b == bb or b == ib or it <= b < it_end

    def _index_meta(self):
        self._meta = []
        for g, gd in enumerate(self.gds):
            start = self.group_range(g)[0]
            meta_end = start + (1 + self.gdt_blocks + self.reserved_gdt
                                if self.has_super(g) else 0)
            self._meta.append((meta_end, gd.bg_block_bitmap, gd.bg_inode_bitmap,
                               gd.bg_inode_table, gd.bg_inode_table + self.itb))

    def check_data_block(self, b, what):
        if not self.fdb <= b < self.nblocks or self.is_meta(b):
            self.error(f"{what}: block {b} is not a valid data block")
        return b

    def run_hits_meta(self, b, n):
        """Some block of [b, b + n) is outside the data area or is metadata."""
        if n <= 0:
            return False
        e = b + n
        if b < self.fdb or e > self.nblocks:
            return True
        for g in range(self.group_of_block(b), self.group_of_block(e - 1) + 1):
            meta_end, bb, ib, it, it_end = self._meta[g]
            start = self.fdb + g * self.bpg
            if (b < meta_end and e > start) or b <= bb < e or b <= ib < e or \
                    (b < it_end and e > it):
                return True
        return False

    def valid_data_block(self, b):
        return self.fdb <= b < self.nblocks and not self.is_meta(b)

    def error(self, msg):
        """Corruption found: remember it (the superblock gets ERROR_FS at
        unmount, as Linux's ext2_error does) and fail with EIO."""
        self.errors_seen = True
        log.warning("ext2 %s: %s", self.image_path.decode(errors="replace"), msg)
        raise L.Corrupt(msg)

    def write_check(self):
        if self.readonly:
            raise KernelError(EROFS)

    # -- superblock and descriptors --------------------------------------------------------
    def _write_super(self):
        raw = L.build(L.SUPERBLOCK_C, self.sb, "superblock")
        blk, off = divmod(L.SUPERBLOCK_OFFSET, self.bs)
        buf = self.bdev.get(blk)
        buf[off:off + L.SUPERBLOCK_SIZE] = raw
        self.bdev.put(blk, buf)
        self._sb_dirty = False

    def _write_backup_supers(self):
        for g in range(1, self.ngroups):
            if not self.has_super(g):
                continue
            copy = Container(self.sb)
            copy.s_block_group_nr = g & 0xFFFF
            blk = self.group_range(g)[0]
            buf = self.bdev.get(blk)
            buf[0:L.SUPERBLOCK_SIZE] = L.build(L.SUPERBLOCK_C, copy, "superblock")
            self.bdev.put(blk, buf)

    def _write_group(self, g):
        per_block = self.bs // L.GROUP_DESC_SIZE
        blk, idx = divmod(g, per_block)
        blk += self.fdb + 1
        off = idx * L.GROUP_DESC_SIZE
        buf = self.bdev.get(blk)
        buf[off:off + L.GROUP_DESC_SIZE] = L.build(L.GROUP_DESC_C, self.gds[g], "group desc")
        self.bdev.put(blk, buf)

    def _commit(self):
        """Changed inodes, descriptors and superblock into the block cache."""
        if self.readonly:
            return
        while self._dirty_inodes:
            self.write_inode(self._dirty_inodes.pop())
        while self._dirty_groups:
            self._write_group(self._dirty_groups.pop())
        # the superblock (free counts, features) goes to the cache at sync,
        # fsync and unmount only: building it after every allocation was a
        # tenth of the time of a create/unlink loop
        self.bdev.trim()

    # -- inodes ----------------------------------------------------------------------------
    def inode_loc(self, ino):
        if not 1 <= ino <= self.ninodes:
            self.error(f"inode number {ino} out of range")
        g, idx = divmod(ino - 1, self.ipg)
        byte = idx * self.isz
        return self.gds[g].bg_inode_table + byte // self.bs, byte % self.bs

    def read_raw_inode(self, ino):
        blk, off = self.inode_loc(ino)
        buf = self.bdev.get(blk)
        if off + L.GOOD_OLD_INODE_SIZE > len(buf):
            self.error(f"inode {ino}: crosses its block")
        return L.parse_inode(buf, off)

    def write_inode(self, inode):
        if inode.freed_ino:
            return
        blk, off = self.inode_loc(inode.ino)
        buf = self.bdev.get(blk)
        L.pack_inode_into(buf, off, inode.r)
        self.bdev.put(blk, buf)

    def iget(self, ino, what="entry"):
        """The inode object for ``ino`` (validated; cached while in use)."""
        inode = self._icache.get(ino)
        if inode is not None:
            self._keep(inode)
            return inode
        from akuma.vfs.ext2.inode import inode_class
        if ino < L.ROOT_INO or (ino < self.first_ino and ino != L.ROOT_INO):
            self.error(f"{what} refers to reserved inode {ino}")
        r = self.read_raw_inode(ino)
        mode = r.i_mode
        kind = mode & st.S_IFMT
        if r.i_links_count == 0:
            self.error(f"{what} refers to deleted inode {ino}")
        if kind not in L.VALID_KINDS:
            self.error(f"inode {ino}: invalid mode {mode:#o}")
        size = r.i_size
        if kind == st.S_IFREG:
            size |= r.i_size_high << 32
            if size > self.max_size:
                self.error(f"inode {ino}: size {size} beyond the maximum file size")
        elif kind == st.S_IFDIR:
            if size % self.bs or size > self.nblocks * self.bs:
                self.error(f"inode {ino}: directory size {size}")
        elif kind == st.S_IFLNK:
            if size >= self.bs or size >= 4096:
                self.error(f"inode {ino}: symlink length {size}")
        if r.i_flags & (L.EXT4_EXTENTS_FL | L.EXT4_INLINE_DATA_FL):
            self.error(f"inode {ino}: extent/inline-data flags on ext2")
        if r.i_file_acl and not self.valid_data_block(r.i_file_acl):
            self.error(f"inode {ino}: extended attribute block {r.i_file_acl} invalid")
        inode = inode_class(kind)(self, ino, r)
        self._icache[ino] = inode
        self._keep(inode)
        return inode

    RECENT_INODES = 2048

    def _keep(self, inode):
        recent = self._recent
        ino = inode.ino
        if recent.get(ino) is inode:
            recent.move_to_end(ino)
            return
        recent[ino] = inode
        recent.move_to_end(ino)
        if len(recent) > self.RECENT_INODES:
            recent.popitem(last=False)

    def new_inode(self, mode, uid, gid, parent):
        """Allocate and initialise an inode near ``parent`` (a directory inode)."""
        from akuma.vfs.ext2.inode import inode_class
        is_dir = mode & st.S_IFMT == st.S_IFDIR
        ino = self.alloc_inode(is_dir, (parent.ino - 1) // self.ipg)
        blk, off = self.inode_loc(ino)
        buf = self.bdev.get(blk)
        buf[off:off + self.isz] = bytes(self.isz)
        self.bdev.put(blk, buf)
        r = L.parse_inode(bytes(L.GOOD_OLD_INODE_SIZE))
        t = now_s()
        r.i_mode = mode & 0xFFFF
        r.i_uid, r.l_i_uid_high = uid & 0xFFFF, (uid >> 16) & 0xFFFF
        r.i_gid, r.l_i_gid_high = gid & 0xFFFF, (gid >> 16) & 0xFFFF
        r.i_atime = r.i_ctime = r.i_mtime = t
        r.i_links_count = 1
        r.i_generation = random.getrandbits(32)
        r.i_block = [0] * L.N_BLOCKS
        inode = inode_class(mode & st.S_IFMT)(self, ino, r)
        self._icache[ino] = inode
        self._keep(inode)
        inode.dirty()
        return inode

    def release_inode(self, inode):
        """Last link and last open file gone: free its blocks and the inode."""
        if inode.freed_ino or self.readonly:
            return
        r = inode.r
        if inode.has_block_map():
            self.truncate_blocks(inode, 0)
        if r.i_file_acl:
            self._release_xattr(r.i_file_acl)
            r.i_file_acl = 0
        r.i_links_count = 0
        r.i_dtime = now_s() or 1
        r.i_size = r.i_size_high = 0
        r.i_blocks = 0
        if inode.kind != st.S_IFLNK and inode.kind not in (st.S_IFCHR, st.S_IFBLK):
            r.i_block = [0] * L.N_BLOCKS
        self.write_inode(inode)
        self._dirty_inodes.discard(inode)
        self.free_inode(inode.ino, inode.is_dir)
        inode.freed_ino = True
        self._icache.pop(inode.ino, None)
        if self._recent.get(inode.ino) is inode:
            del self._recent[inode.ino]

    def _release_xattr(self, b):
        if not self.valid_data_block(b):
            return
        buf = self.bdev.get(b)
        try:
            h = L.XATTR_HEAD_C.parse(bytes(buf[:32]))
        except Exception:  # noqa: BLE001
            return
        if h.h_magic != L.XATTR_MAGIC:
            return
        if h.h_refcount > 1:
            set_u32(buf, 1, h.h_refcount - 1)
            self.bdev.put(b, buf)
        else:
            self.free_block(b)

    # -- allocation --------------------------------------------------------------------------
    def _bitmap_set(self, bm, bit, value):
        byte, mask = bit >> 3, 1 << (bit & 7)
        was = bool(bm[byte] & mask)
        if value:
            bm[byte] |= mask
        else:
            bm[byte] &= ~mask & 0xFF
        return was

    def alloc_block(self, goal=0):
        """One free block, from ``goal`` if it is free."""
        return self.alloc_run(goal, 1)[0]

    def alloc_run(self, goal, want):
        """Up to ``want`` free blocks in a row, from ``goal`` if it is free:
        (first block, count >= 1)."""
        self.write_check()
        if not self.fdb <= goal < self.nblocks:
            goal = self.fdb
        g0 = self.group_of_block(goal)
        for k in range(self.ngroups + 1):
            g = (g0 + k) % self.ngroups
            gd = self.gds[g]
            if gd.bg_free_blocks_count == 0:
                continue
            start, end = self.group_range(g)
            nb = end - start
            bm = self.bdev.get(gd.bg_block_bitmap)
            s = goal - start if k == 0 and start <= goal < end else 0
            bit = find_zero_bit(bm, s, nb)
            if bit < 0 and s:
                bit = find_zero_bit(bm, 0, s)
            if bit < 0:
                continue
            got = zero_run(bm, bit, min(nb, bit + want))
            got = max(1, min(got, want, gd.bg_free_blocks_count))
            b = start + bit
            if self.run_hits_meta(b, got):
                self.error(f"group {g}: block bitmap marks metadata in {b}+{got} free")
            set_bits(bm, bit, bit + got)
            self.bdev.put(gd.bg_block_bitmap, bm)
            gd.bg_free_blocks_count -= got
            self.sb.s_free_blocks_count = max(0, self.sb.s_free_blocks_count - got)
            self._dirty_groups.add(g)
            self._sb_dirty = True
            return b, got
        raise KernelError(ENOSPC)

    def free_run(self, b, n):
        """Give back blocks [b, b + n) (all in one group, all valid data
        blocks); how many were actually in use."""
        g = self.group_of_block(b)
        gd = self.gds[g]
        start, end = self.group_range(g)
        bm = self.bdev.get(gd.bg_block_bitmap)
        freed = clear_bits(bm, b - start, b - start + n)
        if freed != n:
            self.errors_seen = True
        if freed:
            self.bdev.put(gd.bg_block_bitmap, bm)
            gd.bg_free_blocks_count = min(end - start, gd.bg_free_blocks_count + freed)
            self.sb.s_free_blocks_count = min(self.nblocks, self.sb.s_free_blocks_count + freed)
            self._dirty_groups.add(g)
            self._sb_dirty = True
        for i in range(n):
            self.bdev.forget(b + i)
        return freed

    def free_block(self, b):
        """Give block ``b`` back; False (and nothing done) for an invalid
        pointer or a block already free — a damaged map never frees metadata."""
        if not self.valid_data_block(b):
            self.errors_seen = True
            return False
        g = self.group_of_block(b)
        gd = self.gds[g]
        start, end = self.group_range(g)
        bm = self.bdev.get(gd.bg_block_bitmap)
        if not self._bitmap_set(bm, b - start, False):
            self.errors_seen = True
            return False
        self.bdev.put(gd.bg_block_bitmap, bm)
        gd.bg_free_blocks_count = min(end - start, gd.bg_free_blocks_count + 1)
        self.sb.s_free_blocks_count = min(self.nblocks, self.sb.s_free_blocks_count + 1)
        self._dirty_groups.add(g)
        self._sb_dirty = True
        self.bdev.forget(b)
        return True

    def alloc_inode(self, is_dir, parent_group):
        self.write_check()
        if is_dir:
            # spread directories: the group with the most free blocks that has
            # free inodes (a simple form of Linux's Orlov allocator)
            cands = [g for g in range(self.ngroups) if self.gds[g].bg_free_inodes_count]
            if not cands:
                raise KernelError(ENOSPC)
            avg = self.sb.s_free_inodes_count // self.ngroups
            good = [g for g in cands if self.gds[g].bg_free_inodes_count >= avg] or cands
            g0 = max(good, key=lambda g: (self.gds[g].bg_free_blocks_count,
                                          -self.gds[g].bg_used_dirs_count))
        else:
            g0 = parent_group if 0 <= parent_group < self.ngroups else 0
        for k in range(self.ngroups):
            g = (g0 + k) % self.ngroups
            gd = self.gds[g]
            if gd.bg_free_inodes_count == 0:
                continue
            bm = self.bdev.get(gd.bg_inode_bitmap)
            start = self.first_ino - 1 if g == 0 else 0
            bit = find_zero_bit(bm, start, self.ipg)
            if bit < 0:
                continue
            self._bitmap_set(bm, bit, True)
            self.bdev.put(gd.bg_inode_bitmap, bm)
            gd.bg_free_inodes_count -= 1
            if is_dir:
                gd.bg_used_dirs_count = min(self.ipg, gd.bg_used_dirs_count + 1)
            self.sb.s_free_inodes_count = max(0, self.sb.s_free_inodes_count - 1)
            self._dirty_groups.add(g)
            self._sb_dirty = True
            return g * self.ipg + bit + 1
        raise KernelError(ENOSPC)

    def free_inode(self, ino, is_dir):
        g, bit = divmod(ino - 1, self.ipg)
        gd = self.gds[g]
        bm = self.bdev.get(gd.bg_inode_bitmap)
        if not self._bitmap_set(bm, bit, False):
            self.errors_seen = True
            return
        self.bdev.put(gd.bg_inode_bitmap, bm)
        gd.bg_free_inodes_count = min(self.ipg, gd.bg_free_inodes_count + 1)
        if is_dir:
            gd.bg_used_dirs_count = max(0, gd.bg_used_dirs_count - 1)
        self.sb.s_free_inodes_count = min(self.ninodes, self.sb.s_free_inodes_count + 1)
        self._dirty_groups.add(g)
        self._sb_dirty = True

    # -- block map ---------------------------------------------------------------------------
    def _path(self, lblk):
        """(slot in i_block, [indexes in the indirect levels]) of logical block ``lblk``."""
        apb = self.apb
        if lblk < L.NDIR_BLOCKS:
            return lblk, []
        lblk -= L.NDIR_BLOCKS
        if lblk < apb:
            return L.IND_BLOCK, [lblk]
        lblk -= apb
        if lblk < apb * apb:
            return L.DIND_BLOCK, [lblk // apb, lblk % apb]
        lblk -= apb * apb
        if lblk < apb ** 3:
            return L.TIND_BLOCK, [lblk // (apb * apb), (lblk // apb) % apb, lblk % apb]
        raise KernelError(EINVAL)

    def lookup_block(self, inode, lblk):
        """(physical block, 1) for a mapped ``lblk``; (0, n) for a hole, where
        n >= 1 logical blocks from ``lblk`` on are known to be holes too (a
        missing indirect block covers a whole range: sparse reads skip it)."""
        r = inode.r
        slot, idxs = self._path(lblk)
        b = r.i_block[slot]
        what = f"inode {inode.ino} block {lblk}"
        depth = -1
        while True:
            if b == 0:
                rem = idxs[depth + 1:]
                off = 0
                for i in rem:
                    off = off * self.apb + i
                return 0, self.apb ** len(rem) - off
            self.check_data_block(b, what)
            depth += 1
            if depth == len(idxs):
                return b, 1
            b = get_u32(self.bdev.get(b), idxs[depth])

    def bmap(self, inode, lblk, alloc=False):
        """Physical block of ``lblk`` (0: a hole).  With ``alloc`` a hole gets a
        block (and the indirect blocks on the way): returns (pblk, new) where a
        new data block's buffer is NOT initialised (the caller writes it)."""
        r = inode.r
        slot, idxs = self._path(lblk)
        b = r.i_block[slot]
        what = f"inode {inode.ino} block {lblk}"
        new = False
        if b == 0:
            if not alloc:
                return 0
            b = self.alloc_block(inode.goal())
            r.i_block[slot] = b
            inode.add_blocks(1, b)
            if idxs:
                self.bdev.zero(b)
            else:
                new = True
        else:
            self.check_data_block(b, what)
        last = len(idxs) - 1
        for depth, idx in enumerate(idxs):
            buf = self.bdev.get(b)
            child = get_u32(buf, idx)
            if child == 0:
                if not alloc:
                    return 0
                child = self.alloc_block(inode.goal())
                set_u32(buf, idx, child)
                self.bdev.put(b, buf)
                inode.add_blocks(1, child)
                if depth < last:
                    self.bdev.zero(child)
                else:
                    new = True
                b = child
            else:
                b = self.check_data_block(child, what)
        return (b, new) if alloc else b

    def map_run(self, inode, lblk, maxn, alloc=False):
        """(pblk, n, new): logical blocks lblk .. lblk+n-1 (1 <= n <= maxn) are
        physical pblk .. pblk+n-1, or all holes (pblk 0; only without
        ``alloc``).  With ``alloc`` holes get blocks (new=True: their contents
        are not initialised, the caller writes every one of them)."""
        r = inode.r
        what = f"inode {inode.ino} block {lblk}"
        if lblk < L.NDIR_BLOCKS:
            bl = r.i_block
            cap = min(L.NDIR_BLOCKS - lblk, maxn)
            b = bl[lblk]
            n = 1
            if b:
                while n < cap and bl[lblk + n] == b + n:
                    n += 1
                if self.run_hits_meta(b, n):
                    self.error(f"{what}: blocks {b}+{n} are not valid data blocks")
                return b, n, False
            while n < cap and bl[lblk + n] == 0:
                n += 1
            if not alloc:
                return 0, n, False
            b, got = self.alloc_run(inode.goal(), n)
            for i in range(got):
                bl[lblk + i] = b + i
            inode.add_blocks(got, b + got - 1)
            return b, got, True
        slot, idxs = self._path(lblk)
        b = r.i_block[slot]
        if b == 0:
            if not alloc:
                return 0, min(maxn, self.lookup_block(inode, lblk)[1]), False
            b = self.alloc_block(inode.goal())
            r.i_block[slot] = b
            inode.add_blocks(1, b)
            self.bdev.zero(b)
        else:
            self.check_data_block(b, what)
        for idx in idxs[:-1]:
            buf = self.bdev.get(b)
            child = get_u32(buf, idx)
            if child == 0:
                if not alloc:
                    return 0, min(maxn, self.lookup_block(inode, lblk)[1]), False
                child = self.alloc_block(inode.goal())
                set_u32(buf, idx, child)
                self.bdev.put(b, buf)
                inode.add_blocks(1, child)
                self.bdev.zero(child)
                b = child
            else:
                b = self.check_data_block(child, what)
        idx = idxs[-1]
        buf = self.bdev.get(b)
        v, n = u32_run(buf, idx, min(maxn, self.apb - idx))
        if v:
            if self.run_hits_meta(v, n):
                self.error(f"{what}: blocks {v}+{n} are not valid data blocks")
            return v, n, False
        if not alloc:
            return 0, n, False
        pb, got = self.alloc_run(inode.goal(), n)
        set_u32_run(buf, idx, pb, got)
        self.bdev.put(b, buf)
        inode.add_blocks(got, pb + got - 1)
        return pb, got, True

    def truncate_blocks(self, inode, keep):
        """Free every block of ``inode`` at logical index >= ``keep`` and the
        indirect blocks left empty.  Each indirect block is visited once (a
        damaged map that shares blocks cannot make this loop long)."""
        r = inode.r
        bl = list(r.i_block)
        visited = set()
        for i in range(L.NDIR_BLOCKS):
            if i >= keep and bl[i]:
                self._drop(inode, bl[i], visited)
                bl[i] = 0
        base = L.NDIR_BLOCKS
        for slot, level in ((L.IND_BLOCK, 1), (L.DIND_BLOCK, 2), (L.TIND_BLOCK, 3)):
            span = self.apb ** level
            p = bl[slot]
            if p and base + span > keep:
                if not self.valid_data_block(p) or p in visited:
                    self.errors_seen = True
                    bl[slot] = 0
                else:
                    visited.add(p)
                    if self._trunc_ind(inode, p, level, base, keep, visited):
                        self._drop(inode, p, None)
                        bl[slot] = 0
            base += span
        r.i_block = bl
        inode.dirty()

    def _drop(self, inode, b, visited):
        if visited is not None:
            if b in visited:
                self.errors_seen = True
                return
            visited.add(b)
        if self.free_block(b):
            inode.add_blocks(-1)

    def _trunc_ind(self, inode, b, level, base, keep, visited):
        """Trim indirect block ``b`` (covering logical blocks from ``base``);
        True when it ends up empty (the caller frees it)."""
        buf = self.bdev.get(b)
        span = self.apb ** (level - 1)
        first = max(0, (keep - base) // span)
        changed = False
        if level == 1:
            vals = u32_list(buf, first, self.apb)
            i, m = 0, len(vals)
            while i < m:
                p = vals[i]
                if p == 0:
                    i += 1
                    continue
                j = i + 1          # a run of consecutive blocks in one group
                g = self.group_of_block(p)
                gend = self.group_range(g)[1] if 0 <= g < self.ngroups else 0
                while j < m and vals[j] == p + (j - i) and vals[j] < gend:
                    j += 1
                k = j - i
                if k > 1 and not self.run_hits_meta(p, k) and \
                        not any(q in visited for q in range(p, p + k)):
                    visited.update(range(p, p + k))
                    inode.add_blocks(-self.free_run(p, k))
                else:
                    for q in vals[i:j]:
                        self._drop(inode, q, visited)
                buf[(first + i) * 4:(first + j) * 4] = bytes(k * 4)
                changed = True
                i = j
            if changed:
                self.bdev.put(b, buf)
            return is_zero(buf)
        for i in range(first, self.apb):
            p = get_u32(buf, i)
            if p == 0:
                continue
            cbase = base + i * span
            if level == 1:
                self._drop(inode, p, visited)
                set_u32(buf, i, 0)
                changed = True
                continue
            if not self.valid_data_block(p) or p in visited:
                self.errors_seen = True
                set_u32(buf, i, 0)
                changed = True
                continue
            visited.add(p)
            if self._trunc_ind(inode, p, level - 1, cbase, keep, visited):
                self._drop(inode, p, None)
                set_u32(buf, i, 0)
                changed = True
        if changed:
            self.bdev.put(b, buf)
        return is_zero(buf)

    # -- whole-filesystem operations ---------------------------------------------------------
    @op
    def sync(self):
        """Write everything to the image (the superblock stays 'not clean')."""
        if self.readonly:
            return
        self._commit()
        self.sb.s_wtime = now_s()
        self._write_super()
        self.bdev.flush(True)

    def unmount(self):
        """Flush and close.  Inodes unlinked while open are freed now; the
        superblock gets back its mount-time state (VALID for a clean fs),
        plus ERROR_FS if corruption was seen."""
        if self.closed:
            return
        try:
            if not self.readonly:
                self._depth += 1
                try:
                    for inode in list(self._icache.values()):
                        if inode.r.i_links_count == 0:
                            self.release_inode(inode)
                finally:
                    self._depth -= 1
                self._commit()
                self.bdev.flush(True)
                state = self.state_at_mount & 0xFFFF
                if self.errors_seen:
                    state |= L.ERROR_FS
                self.sb.s_state = state
                self.sb.s_wtime = now_s()
                self._write_super()
                feats = (self.sb.s_feature_compat, self.sb.s_feature_incompat,
                         self.sb.s_feature_ro_compat)
                if feats != self.features_at_mount:
                    self._write_backup_supers()
                self.bdev.flush(True)
        except KernelError:
            raise
        except Exception as e:   # noqa: BLE001
            if STRICT:
                raise
            raise KernelError(EIO, f"ext2: unmount: {e}") from None
        finally:
            self.closed = True
            self.bdev.clear()
            self._icache.clear()
            self._recent.clear()
            try:
                os.close(self.fd)
            except OSError:
                pass

    close = unmount

    @op
    def statfs(self):
        sb = self.sb
        free = sb.s_free_blocks_count
        return dict(f_type=L.EXT2_MAGIC, f_bsize=self.bs, f_blocks=sb.s_blocks_count,
                    f_bfree=free, f_bavail=max(0, free - sb.s_r_blocks_count),
                    f_files=sb.s_inodes_count, f_ffree=sb.s_free_inodes_count,
                    f_namelen=255, f_frsize=self.bs)

    def set_large_file(self):
        if not self.sb.s_feature_ro_compat & L.RO_COMPAT_LARGE_FILE:
            self.sb.s_feature_ro_compat |= L.RO_COMPAT_LARGE_FILE
            self._sb_dirty = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.unmount()

    def __repr__(self):
        return f"<Ext2Fs {self.image_path!r}{' ro' if self.readonly else ''}>"
