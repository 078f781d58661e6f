"""mkfs: a fresh ext2 revision 1 image (sparse_super, large_file, filetype),
written by our own code: e2fsck -fn accepts it.

Layout per group: [superblock + descriptor table copy if the group has one]
block bitmap, inode bitmap, inode table, data.  Group 0's first data blocks
hold the root directory and lost+found.  The image file is created sparse:
only metadata blocks are written."""
import os
import time

from akuma.vfs.ext2 import layout as L
from akuma.vfs.ext2.blockio import BlockDev, set_bits

LPF_INO = 11


def mkfs(path, size_bytes, block_size=4096, inodes=None, label=b"", inode_size=128):
    """Create an ext2 filesystem of ``size_bytes`` (rounded down to whole
    blocks) in the host file ``path`` (created or truncated).  Returns a
    dict of the geometry."""
    bs = int(block_size)
    if bs not in (1024, 2048, 4096):
        raise ValueError("block_size must be 1024, 2048 or 4096")
    if inode_size not in (128, 256) or inode_size > bs:
        raise ValueError("inode_size must be 128 or 256")
    label = bytes(label)
    if len(label) > 16:
        raise ValueError("label longer than 16 bytes")
    isz = inode_size
    nblocks = min(int(size_bytes) // bs, 0xFFFFFFFF)
    fdb = 1 if bs == 1024 else 0
    bpg = 8 * bs
    if nblocks < 64:
        raise ValueError("filesystem too small")
    if inodes is None:
        ratio = 8192 if size_bytes < (512 << 20) else 16384
        inodes = max(128, size_bytes // ratio)
    lpf_blocks = min(16384 // bs, L.NDIR_BLOCKS)
    while True:
        groups = -(-(nblocks - fdb) // bpg)
        per_block = bs // isz
        ipg = -(-int(inodes) // groups)
        ipg = max(ipg, 16)
        step = max(8, per_block)
        ipg = -(-ipg // step) * step
        ipg = min(ipg, 8 * bs, 65528 // step * step)
        itb = ipg * isz // bs
        gdt = -(-groups * L.GROUP_DESC_SIZE // bs)

        def overhead(g):
            return (1 + gdt if L.group_has_super(g) else 0) + 2 + itb
        last = nblocks - fdb - (groups - 1) * bpg
        if groups > 1 and last < overhead(groups - 1) + 50:
            nblocks -= last
            continue
        break
    if overhead(0) + 1 + lpf_blocks + 8 > min(bpg, nblocks - fdb):
        raise ValueError("filesystem too small for its metadata")
    ninodes = ipg * groups
    now = int(time.time()) & 0xFFFFFFFF

    fd = os.open(os.fsencode(path), os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.ftruncate(fd, max(int(size_bytes), nblocks * bs))
        dev = BlockDev(fd, bs, nblocks)
        gds = []
        free_blocks_total = 0
        root_block = lpf_first = 0
        for g in range(groups):
            start = fdb + g * bpg
            end = min(start + bpg, nblocks)
            n = end - start
            meta = 1 + gdt if L.group_has_super(g) else 0
            bb = start + meta
            ib = bb + 1
            it = ib + 1
            used = meta + 2 + itb
            if g == 0:
                root_block = it + itb
                lpf_first = root_block + 1
                used += 1 + lpf_blocks
            bm = bytearray(bs)
            set_bits(bm, 0, used)
            set_bits(bm, n, 8 * bs)                # padding past the group end
            dev.put(bb, bm)
            im = bytearray(bs)
            if g == 0:
                set_bits(im, 0, LPF_INO)           # inodes 1..11
            set_bits(im, ipg, 8 * bs)
            dev.put(ib, im)
            gd = L.GROUP_DESC_C.parse(bytes(L.GROUP_DESC_SIZE))
            gd.bg_block_bitmap, gd.bg_inode_bitmap, gd.bg_inode_table = bb, ib, it
            gd.bg_free_blocks_count = n - used
            gd.bg_free_inodes_count = ipg - (LPF_INO if g == 0 else 0)
            gd.bg_used_dirs_count = 2 if g == 0 else 0
            gds.append(gd)
            free_blocks_total += n - used

        # root directory and lost+found
        ft = L.FT_DIR
        buf = bytearray(bs)
        L.put_dirent(buf, 0, L.ROOT_INO, 12, b".", ft)
        L.put_dirent(buf, 12, L.ROOT_INO, 12, b"..", ft)
        L.put_dirent(buf, 24, LPF_INO, bs - 24, b"lost+found", ft)
        dev.put(root_block, buf)
        buf = bytearray(bs)
        L.put_dirent(buf, 0, LPF_INO, 12, b".", ft)
        L.put_dirent(buf, 12, L.ROOT_INO, bs - 12, b"..", ft)
        dev.put(lpf_first, buf)
        for i in range(1, lpf_blocks):
            buf = bytearray(bs)
            L.put_dirent(buf, 0, 0, bs, b"", 0)
            dev.put(lpf_first + i, buf)

        def write_inode(ino, mode, links, size, blocks):
            r = L.INODE_C.parse(bytes(L.GOOD_OLD_INODE_SIZE))
            r.i_mode = mode
            r.i_links_count = links
            r.i_size = size
            r.i_atime = r.i_ctime = r.i_mtime = now
            r.i_blocks = len(blocks) * (bs // 512)
            r.i_block = list(blocks) + [0] * (L.N_BLOCKS - len(blocks))
            idx = ino - 1
            blk = gds[0].bg_inode_table + idx * isz // bs
            off = idx * isz % bs
            b = dev.get(blk)
            b[off:off + L.GOOD_OLD_INODE_SIZE] = L.INODE_C.build(r)
            dev.put(blk, b)
        write_inode(L.ROOT_INO, 0o040755, 3, bs, [root_block])
        write_inode(LPF_INO, 0o040700, 2, lpf_blocks * bs,
                    range(lpf_first, lpf_first + lpf_blocks))

        # superblock
        sb = L.SUPERBLOCK_C.parse(bytes(L.SUPERBLOCK_SIZE))
        sb.s_inodes_count = ninodes
        sb.s_blocks_count = nblocks
        sb.s_r_blocks_count = nblocks * 5 // 100
        sb.s_free_blocks_count = free_blocks_total
        sb.s_free_inodes_count = ninodes - LPF_INO
        sb.s_first_data_block = fdb
        sb.s_log_block_size = sb.s_log_frag_size = bs.bit_length() - 11
        sb.s_blocks_per_group = sb.s_frags_per_group = bpg
        sb.s_inodes_per_group = ipg
        sb.s_wtime = sb.s_lastcheck = sb.s_mkfs_time = now
        sb.s_max_mnt_count = -1
        sb.s_magic = L.EXT2_MAGIC
        sb.s_state = L.VALID_FS
        sb.s_errors = L.ERRORS_CONTINUE
        sb.s_rev_level = 1
        sb.s_first_ino = L.GOOD_OLD_FIRST_INO
        sb.s_inode_size = isz
        sb.s_feature_incompat = L.INCOMPAT_FILETYPE
        sb.s_feature_ro_compat = L.RO_COMPAT_SPARSE_SUPER | L.RO_COMPAT_LARGE_FILE
        uuid = bytearray(os.urandom(16))
        uuid[6] = (uuid[6] & 0x0F) | 0x40
        uuid[8] = (uuid[8] & 0x3F) | 0x80
        sb.s_uuid = bytes(uuid)
        sb.s_volume_name = label.ljust(16, b"\0")
        gdt_raw = b"".join(L.GROUP_DESC_C.build(gd) for gd in gds)
        gdt_raw = gdt_raw.ljust(gdt * bs, b"\0")
        for g in range(groups):
            if not L.group_has_super(g):
                continue
            start = fdb + g * bpg
            sb.s_block_group_nr = g
            raw = L.SUPERBLOCK_C.build(sb)
            if g == 0:
                blk, off = divmod(L.SUPERBLOCK_OFFSET, bs)
            else:
                blk, off = start, 0
            b = dev.get(blk)
            b[off:off + L.SUPERBLOCK_SIZE] = raw
            dev.put(blk, b)
            for i in range(gdt):
                dev.put(start + 1 + i, bytearray(gdt_raw[i * bs:(i + 1) * bs]))
        dev.flush(True)
    finally:
        os.close(fd)
    return dict(blocks=nblocks, block_size=bs, groups=groups, inodes=ninodes,
                inodes_per_group=ipg, inode_size=isz)
