"""Unix permission checks as Linux's generic_permission makes them, for a
caller that is not root (root bypasses them, as CAP_DAC_OVERRIDE and
CAP_FOWNER do; the VFS gets ``cred=None`` for root).  A Cred carries the
filesystem ids: the effective ids, or the real ones for access(2)."""
from akuma.abi import KernelError
from akuma.abi.errors import EACCES

R_OK, W_OK, X_OK = 4, 2, 1
S_ISUID, S_ISGID, S_ISVTX = 0o4000, 0o2000, 0o1000


class Cred:
    __slots__ = ("uid", "gid", "groups")

    def __init__(self, uid, gid, groups=()):
        self.uid = uid
        self.gid = gid
        self.groups = frozenset(groups)

    def in_group(self, gid):
        return gid == self.gid or gid in self.groups

    def __repr__(self):
        return f"<Cred {self.uid}:{self.gid} {sorted(self.groups)}>"


def fs_cred(uid, gid, groups=()):
    """The Cred the VFS should check with: None (no checks) for root."""
    return None if uid == 0 else Cred(uid, gid, groups)


def allowed(inode, cred, want):
    """Does ``cred`` have all of ``want`` (R/W/X bits) on ``inode``?"""
    if cred is None:
        return True
    mode = inode.mode
    if cred.uid == inode.uid:
        bits = mode >> 6
    elif cred.in_group(inode.gid):
        bits = mode >> 3
    else:
        bits = mode
    return not want & ~bits & 7


def check(inode, cred, want):
    if cred is not None and not allowed(inode, cred, want):
        raise KernelError(EACCES)


def check_exec(inode, cred):
    """execve: a regular file with x for the caller; root needs one x bit."""
    if not inode.is_reg:
        raise KernelError(EACCES)
    if cred is None:
        if not inode.mode & 0o111:
            raise KernelError(EACCES)
        return
    check(inode, cred, X_OK)


def sticky_denies(dir_inode, inode, cred):
    """Deleting or renaming ``inode`` out of a sticky directory needs the
    caller to own the file or the directory (EPERM otherwise)."""
    if cred is None or not dir_inode.mode & S_ISVTX:
        return False
    return cred.uid != inode.uid and cred.uid != dir_inode.uid


def new_owner(dir_inode, mode, gid, cred, is_dir=False):
    """(mode, gid) of a new inode in ``dir_inode`` (inode_init_owner): a
    setgid directory gives its group, and S_ISGID to subdirectories; a
    non-member creating a setgid file loses S_ISGID."""
    if dir_inode.mode & S_ISGID:
        gid = dir_inode.gid
        if is_dir:
            mode |= S_ISGID
        elif mode & S_ISGID and mode & 0o010 and cred is not None and not cred.in_group(gid):
            mode &= ~S_ISGID
    return mode, gid
