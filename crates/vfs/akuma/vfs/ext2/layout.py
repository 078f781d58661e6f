"""ext2 on-disk structures (revision 1), declared with construct, and the
checks every parsed field goes through.

All values are little-endian.  The declarations cover the whole record (the
superblock's 1024 bytes, the 32-byte group descriptor, the 128-byte inode
core, the 8-byte directory entry head), so build(parse(x)) == x and the
fields we do not interpret are carried through unchanged.  Parsers are
compiled (construct's compiler) when possible: they run per inode and per
directory entry.

A failed check raises ``Corrupt`` (a KernelError(EIO) with a message naming
the field), never another exception type."""
import struct

from construct import (Array, Bytes, ConstructError, Container, Int8ul, Int16sl, Int16ul,
                       Int32ul, ListContainer, Struct)

from akuma.abi import KernelError
from akuma.abi.errors import EIO

EXT2_MAGIC = 0xEF53
def group_has_super(g, sparse_super=True):
    """Does block group ``g`` carry a superblock backup?  With sparse_super
    only groups 0, 1 and powers of 3, 5 and 7 do."""
    if g <= 1 or not sparse_super:
        return True
    for p in (3, 5, 7):
        n = p
        while n < g:
            n *= p
        if n == g:
            return True
    return False


SUPERBLOCK_OFFSET = 1024
SUPERBLOCK_SIZE = 1024
GOOD_OLD_INODE_SIZE = 128
ROOT_INO = 2
RESIZE_INO = 7
GOOD_OLD_FIRST_INO = 11
NDIR_BLOCKS = 12
IND_BLOCK, DIND_BLOCK, TIND_BLOCK = 12, 13, 14
N_BLOCKS = 15
LINK_MAX = 32000            # Linux's EXT2_LINK_MAX
FAST_SYMLINK_MAX = 60       # bytes of i_block; a fast symlink is < 60 long

# s_state
VALID_FS, ERROR_FS = 0x0001, 0x0002
# s_errors
ERRORS_CONTINUE, ERRORS_RO, ERRORS_PANIC = 1, 2, 3

# feature flags
COMPAT = {
    0x0001: "dir_prealloc", 0x0002: "imagic_inodes", 0x0004: "has_journal",
    0x0008: "ext_attr", 0x0010: "resize_inode", 0x0020: "dir_index",
    0x0040: "lazy_bg", 0x0200: "sparse_super2", 0x0400: "fast_commit",
    0x0800: "stable_inodes", 0x1000: "orphan_file",
}
INCOMPAT = {
    0x0001: "compression", 0x0002: "filetype", 0x0004: "needs_recovery",
    0x0008: "journal_dev", 0x0010: "meta_bg", 0x0040: "extent", 0x0080: "64bit",
    0x0100: "mmp", 0x0200: "flex_bg", 0x0400: "ea_inode", 0x1000: "dirdata",
    0x2000: "metadata_csum_seed", 0x4000: "large_dir", 0x8000: "inline_data",
    0x10000: "encrypt", 0x20000: "casefold",
}
RO_COMPAT = {
    0x0001: "sparse_super", 0x0002: "large_file", 0x0004: "btree_dir",
    0x0008: "huge_file", 0x0010: "uninit_bg", 0x0020: "dir_nlink",
    0x0040: "extra_isize", 0x0100: "quota", 0x0200: "bigalloc",
    0x0400: "metadata_csum", 0x0800: "replica", 0x1000: "read-only",
    0x2000: "project", 0x4000: "shared_blocks", 0x8000: "verity",
    0x10000: "orphan_present",
}
INCOMPAT_FILETYPE = 0x0002
RO_COMPAT_SPARSE_SUPER = 0x0001
RO_COMPAT_LARGE_FILE = 0x0002
COMPAT_RESIZE_INODE = 0x0010
# What this driver implements.  Unknown INCOMPAT: no mount; unknown RO_COMPAT:
# read-only; COMPAT features are safe to ignore by definition.
SUPPORTED_INCOMPAT = INCOMPAT_FILETYPE
SUPPORTED_RO_COMPAT = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE


def feature_names(mask, table):
    names = []
    for bit in range(32):
        if mask & (1 << bit):
            names.append(table.get(1 << bit, f"unknown_{1 << bit:#x}"))
    return ", ".join(names)


# inode flags we must refuse to interpret as block maps
EXT4_EXTENTS_FL = 0x00080000
EXT4_INLINE_DATA_FL = 0x10000000
INDEX_FL = 0x00001000          # htree directory

# directory entry file types (INCOMPAT_FILETYPE)
FT_UNKNOWN, FT_REG, FT_DIR, FT_CHR, FT_BLK, FT_FIFO, FT_SOCK, FT_SYMLINK = range(8)
_FT_OF_KIND = {0o10: FT_REG, 0o04: FT_DIR, 0o02: FT_CHR, 0o06: FT_BLK, 0o01: FT_FIFO,
               0o14: FT_SOCK, 0o12: FT_SYMLINK}
_DT_OF_FT = {FT_REG: 8, FT_DIR: 4, FT_CHR: 2, FT_BLK: 6, FT_FIFO: 1, FT_SOCK: 12,
             FT_SYMLINK: 10}
VALID_KINDS = frozenset((0o010000, 0o020000, 0o040000, 0o060000, 0o100000, 0o120000,
                         0o140000))


def ft_of_mode(mode):
    return _FT_OF_KIND.get((mode >> 12) & 0o17, FT_UNKNOWN)


def dt_of_ft(ft):
    return _DT_OF_FT.get(ft, 0)


# -- declarations ----------------------------------------------------------------------------
SUPERBLOCK = Struct(
    "s_inodes_count" / Int32ul,
    "s_blocks_count" / Int32ul,
    "s_r_blocks_count" / Int32ul,
    "s_free_blocks_count" / Int32ul,
    "s_free_inodes_count" / Int32ul,
    "s_first_data_block" / Int32ul,
    "s_log_block_size" / Int32ul,
    "s_log_frag_size" / Int32ul,
    "s_blocks_per_group" / Int32ul,
    "s_frags_per_group" / Int32ul,
    "s_inodes_per_group" / Int32ul,
    "s_mtime" / Int32ul,
    "s_wtime" / Int32ul,
    "s_mnt_count" / Int16ul,
    "s_max_mnt_count" / Int16sl,
    "s_magic" / Int16ul,
    "s_state" / Int16ul,
    "s_errors" / Int16ul,
    "s_minor_rev_level" / Int16ul,
    "s_lastcheck" / Int32ul,
    "s_checkinterval" / Int32ul,
    "s_creator_os" / Int32ul,
    "s_rev_level" / Int32ul,
    "s_def_resuid" / Int16ul,
    "s_def_resgid" / Int16ul,
    # -- EXT2_DYNAMIC_REV (revision 1) --
    "s_first_ino" / Int32ul,
    "s_inode_size" / Int16ul,
    "s_block_group_nr" / Int16ul,
    "s_feature_compat" / Int32ul,
    "s_feature_incompat" / Int32ul,
    "s_feature_ro_compat" / Int32ul,
    "s_uuid" / Bytes(16),
    "s_volume_name" / Bytes(16),
    "s_last_mounted" / Bytes(64),
    "s_algorithm_usage_bitmap" / Int32ul,
    "s_prealloc_blocks" / Int8ul,
    "s_prealloc_dir_blocks" / Int8ul,
    "s_reserved_gdt_blocks" / Int16ul,
    "s_journal_uuid" / Bytes(16),
    "s_journal_inum" / Int32ul,
    "s_journal_dev" / Int32ul,
    "s_last_orphan" / Int32ul,
    "s_hash_seed" / Array(4, Int32ul),
    "s_def_hash_version" / Int8ul,
    "s_jnl_backup_type" / Int8ul,
    "s_desc_size" / Int16ul,
    "s_default_mount_opts" / Int32ul,
    "s_first_meta_bg" / Int32ul,
    "s_mkfs_time" / Int32ul,
    "s_jnl_blocks" / Array(17, Int32ul),
    "s_ext4_and_reserved" / Bytes(SUPERBLOCK_SIZE - 336),   # ext4 fields, kept as is
)

GROUP_DESC = Struct(
    "bg_block_bitmap" / Int32ul,
    "bg_inode_bitmap" / Int32ul,
    "bg_inode_table" / Int32ul,
    "bg_free_blocks_count" / Int16ul,
    "bg_free_inodes_count" / Int16ul,
    "bg_used_dirs_count" / Int16ul,
    "bg_flags" / Int16ul,
    "bg_reserved" / Bytes(12),
)
GROUP_DESC_SIZE = 32

INODE = Struct(
    "i_mode" / Int16ul,
    "i_uid" / Int16ul,
    "i_size" / Int32ul,
    "i_atime" / Int32ul,
    "i_ctime" / Int32ul,
    "i_mtime" / Int32ul,
    "i_dtime" / Int32ul,
    "i_gid" / Int16ul,
    "i_links_count" / Int16ul,
    "i_blocks" / Int32ul,
    "i_flags" / Int32ul,
    "i_osd1" / Int32ul,
    "i_block" / Array(N_BLOCKS, Int32ul),
    "i_generation" / Int32ul,
    "i_file_acl" / Int32ul,
    "i_size_high" / Int32ul,        # i_dir_acl in revision 0; size bits 32..63 of files
    "i_faddr" / Int32ul,
    "l_i_frag" / Int8ul,
    "l_i_fsize" / Int8ul,
    "l_i_blocks_hi" / Int16ul,
    "l_i_uid_high" / Int16ul,
    "l_i_gid_high" / Int16ul,
    "l_i_reserved2" / Int32ul,
)

DIRENT_HEAD = Struct(
    "inode" / Int32ul,
    "rec_len" / Int16ul,
    "name_len" / Int8ul,
    "file_type" / Int8ul,
)
DIRENT_HEAD_SIZE = 8

# extended attribute block header (only the fields unlink needs)
XATTR_HEAD = Struct(
    "h_magic" / Int32ul,
    "h_refcount" / Int32ul,
    "h_blocks" / Int32ul,
    "h_rest" / Bytes(20),
)
XATTR_MAGIC = 0xEA020000


def _compile(s):
    try:
        return s.compile()
    except Exception:      # construct's compiler is an optimisation only
        return s


SUPERBLOCK_C = _compile(SUPERBLOCK)
GROUP_DESC_C = _compile(GROUP_DESC)
INODE_C = _compile(INODE)
DIRENT_HEAD_C = _compile(DIRENT_HEAD)
XATTR_HEAD_C = _compile(XATTR_HEAD)


# The inode again as a struct.Struct: writing an inode back (every operation
# that changes one) is a pack_into instead of a construct build.
_INODE_FIELDS = [sc.name for sc in INODE.subcons]
_INODE_S = struct.Struct("<HHIIIIIHHIII15IIIIIBBHHHI")
assert _INODE_S.size == GOOD_OLD_INODE_SIZE and len(_INODE_FIELDS) == 23


def pack_inode_into(buf, off, r):
    """Inode ``r`` (a Container from INODE_C) into ``buf`` at ``off``."""
    try:
        vals = [r[k] for k in _INODE_FIELDS]
        vals[12:13] = vals[12]
        _INODE_S.pack_into(buf, off, *vals)
    except (struct.error, TypeError, ValueError):
        buf[off:off + GOOD_OLD_INODE_SIZE] = build(INODE_C, r, "inode")


def parse_inode(data, off=0):
    """The 128-byte inode at ``off`` of ``data`` as a Container (what
    INODE_C.parse gives, without construct's per-field cost)."""
    vals = _INODE_S.unpack_from(data, off)
    r = Container(zip(_INODE_FIELDS[:12], vals[:12]))
    r.i_block = ListContainer(vals[12:27])
    r.update(zip(_INODE_FIELDS[13:], vals[27:]))
    return r


class Corrupt(KernelError):
    """The image is inconsistent: EIO with a message saying what and where."""

    def __init__(self, msg):
        super().__init__(EIO, "ext2: corrupt filesystem: " + msg)


def parse(struct, data, what):
    try:
        return struct.parse(bytes(data))
    except (ConstructError, ValueError, TypeError) as e:
        raise Corrupt(f"{what}: {e}") from None


def build(struct, value, what):
    try:
        return struct.build(value)
    except (ConstructError, ValueError, TypeError, OverflowError) as e:
        raise Corrupt(f"{what}: cannot encode ({e})") from None


def rec_len_for(name_len):
    return (DIRENT_HEAD_SIZE + name_len + 3) & ~3


# -- checks ----------------------------------------------------------------------------
def _need(cond, msg):
    if not cond:
        raise Corrupt(msg)


def check_superblock(sb, image_size):
    """Every field the driver relies on, against each other and the image."""
    _need(sb.s_magic == EXT2_MAGIC, f"bad magic {sb.s_magic:#x} (not an ext2 filesystem)")
    _need(sb.s_rev_level in (0, 1), f"unknown revision {sb.s_rev_level}")
    _need(sb.s_log_block_size <= 2, f"block size 1024<<{sb.s_log_block_size} unsupported")
    bs = 1024 << sb.s_log_block_size
    _need(sb.s_log_frag_size == sb.s_log_block_size, "fragment size differs from block size")
    _need(sb.s_first_data_block == (1 if bs == 1024 else 0),
          f"s_first_data_block {sb.s_first_data_block} for {bs}-byte blocks")
    _need(0 < sb.s_blocks_per_group <= 8 * bs and sb.s_blocks_per_group % 8 == 0,
          f"s_blocks_per_group {sb.s_blocks_per_group}")
    _need(sb.s_frags_per_group == sb.s_blocks_per_group, "s_frags_per_group")
    _need(sb.s_blocks_count > sb.s_first_data_block + 1, f"s_blocks_count {sb.s_blocks_count}")
    _need(sb.s_blocks_count * bs <= image_size,
          f"s_blocks_count {sb.s_blocks_count} x {bs} bytes is past the image end "
          f"({image_size} bytes)")
    groups = -(-(sb.s_blocks_count - sb.s_first_data_block) // sb.s_blocks_per_group)
    if sb.s_rev_level == 0:
        isz, first_ino = GOOD_OLD_INODE_SIZE, GOOD_OLD_FIRST_INO
    else:
        isz, first_ino = sb.s_inode_size, sb.s_first_ino
    _need(GOOD_OLD_INODE_SIZE <= isz <= bs and isz & (isz - 1) == 0, f"s_inode_size {isz}")
    ipg = sb.s_inodes_per_group
    _need(0 < ipg <= 8 * bs, f"s_inodes_per_group {ipg}")
    _need(sb.s_inodes_count == ipg * groups,
          f"s_inodes_count {sb.s_inodes_count} != {ipg} per group x {groups} groups")
    _need(GOOD_OLD_FIRST_INO <= first_ino < sb.s_inodes_count and first_ino <= ipg,
          f"s_first_ino {first_ino}")
    _need(sb.s_free_blocks_count <= sb.s_blocks_count, "s_free_blocks_count > s_blocks_count")
    _need(sb.s_free_inodes_count <= sb.s_inodes_count, "s_free_inodes_count > s_inodes_count")
    _need(sb.s_r_blocks_count <= sb.s_blocks_count, "s_r_blocks_count > s_blocks_count")
    gdt_blocks = -(-groups * GROUP_DESC_SIZE // bs)
    _need(sb.s_first_data_block + 1 + gdt_blocks < sb.s_blocks_count,
          "group descriptors do not fit")
    if sb.s_feature_compat & COMPAT_RESIZE_INODE:
        _need(sb.s_reserved_gdt_blocks <= bs // 4, f"s_reserved_gdt_blocks "
              f"{sb.s_reserved_gdt_blocks}")
    return bs, groups, isz, first_ino, gdt_blocks


def check_group(g, gd, start, end, itable_blocks, ipg, meta_end):
    """Group ``g`` spans blocks [start, end); its metadata must lie inside it,
    past the superblock/descriptor copy (meta_end)."""
    _need(meta_end <= gd.bg_block_bitmap < end, f"group {g}: block bitmap {gd.bg_block_bitmap} "
          f"outside [{meta_end}, {end})")
    _need(meta_end <= gd.bg_inode_bitmap < end, f"group {g}: inode bitmap {gd.bg_inode_bitmap} "
          f"outside [{meta_end}, {end})")
    _need(meta_end <= gd.bg_inode_table and gd.bg_inode_table + itable_blocks <= end,
          f"group {g}: inode table {gd.bg_inode_table}+{itable_blocks} outside "
          f"[{meta_end}, {end})")
    _need(gd.bg_block_bitmap != gd.bg_inode_bitmap, f"group {g}: both bitmaps in one block")
    for b in (gd.bg_block_bitmap, gd.bg_inode_bitmap):
        _need(not gd.bg_inode_table <= b < gd.bg_inode_table + itable_blocks,
              f"group {g}: bitmap {b} inside the inode table")
    _need(gd.bg_free_blocks_count <= end - start, f"group {g}: free blocks count")
    _need(gd.bg_free_inodes_count <= ipg, f"group {g}: free inodes count")
    _need(gd.bg_used_dirs_count <= ipg, f"group {g}: used dirs count")


def max_file_size(bits):
    """Linux's ext2_max_size: the block tree and the 32-bit i_blocks limit."""
    ppb = 1 << (bits - 2)
    upper = ((1 << 32) - 1) >> (bits - 9)
    res = NDIR_BLOCKS + ppb + ppb * ppb + ppb ** 3
    meta = 1 + (1 + ppb) + (1 + ppb + ppb * ppb)
    if res + meta > upper:
        res = upper
        upper -= NDIR_BLOCKS
        meta = 1
        upper -= ppb
        if upper < ppb * ppb:
            meta += 1 + -(-upper // ppb)
        else:
            meta += 1 + ppb
            upper -= ppb * ppb
            meta += 1 + -(-upper // ppb) + -(-upper // (ppb * ppb))
        res -= meta
    return min(res << bits, (1 << 63) - 1)


# The directory-entry head is scanned on every lookup, create and unlink:
# the same layout as DIRENT_HEAD as one struct.unpack_from (construct's
# parse per entry cost ~8 us, which made a 1,000-entry directory O(n^2) slow).
_DIRENT_HEAD_S = struct.Struct("<IHBB")
assert _DIRENT_HEAD_S.size == DIRENT_HEAD_SIZE == DIRENT_HEAD_C.sizeof()


def parse_dir_block(buf, bs, ninodes, where):
    """The entries of one directory block: [(offset, ino, rec_len, name, file_type)].
    Checks what Linux's ext2_check_page checks; bounded (rec_len >= 12)."""
    out = []
    off = 0
    unpack = _DIRENT_HEAD_S.unpack_from
    while off < bs:
        _need(off + DIRENT_HEAD_SIZE <= bs, f"{where}: entry head crosses the block end")
        ino, rec, nl, file_type = unpack(buf, off)
        _need(rec >= 12, f"{where}+{off}: rec_len {rec} too small")
        _need(rec % 4 == 0, f"{where}+{off}: rec_len {rec} unaligned")
        _need(rec >= rec_len_for(nl), f"{where}+{off}: rec_len {rec} < name length {nl}")
        _need(off + rec <= bs, f"{where}+{off}: rec_len {rec} crosses the block end")
        _need(ino <= ninodes, f"{where}+{off}: inode {ino} out of range")
        if ino:
            _need(nl > 0, f"{where}+{off}: empty name")
        out.append((off, ino, rec, bytes(buf[off + 8:off + 8 + nl]), file_type))
        off += rec
    return out


def put_dirent(buf, off, ino, rec_len, name, file_type):
    _DIRENT_HEAD_S.pack_into(buf, off, ino, rec_len, len(name), file_type)
    buf[off + 8:off + 8 + len(name)] = name
