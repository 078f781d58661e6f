"""Extended attributes: the set/get/list/remove families (path, l-path
and fd forms).

No filesystem here stores extended attributes.  The calls behave as on a
Linux filesystem that has handlers for the security., trusted. and user.
namespaces but holds no attribute and accepts none: every argument and
permission check runs as on Linux, then get and remove find nothing
(ENODATA), set is refused (EOPNOTSUPP) and the list is empty.  Names in
system. (POSIX ACLs: none of our filesystems supports them) or in no known
namespace are EOPNOTSUPP, a bare prefix ("user.") is EINVAL.  Objects with
no inode here (pipes, sockets, anonymous files) and /proc support no
attribute at all: EOPNOTSUPP once the namespace rules have passed.

Order of checks (recent Linux, fs/xattr.c since the *xattrat rework of
6.13, as a 6.18 host answers; 6.6 resolved the path and checked the fd
first): the name (and set's flags and value) are read before the path is
resolved or the descriptor looked up; then lookup (ENOENT, ENOTDIR, ELOOP,
EACCES on a search), EROFS for set/remove, xattr_permission (trusted.*
needs root; user.* exists only on regular files and directories, and on a
sticky directory only its owner may write one; otherwise the file's read
or write permission), the capability rule for security.* writes, and last
the filesystem."""
from akuma.abi import KernelError
from akuma.abi import fcntl as F
from akuma.abi import stat as S
from akuma.abi.errors import (E2BIG, EFAULT, EINVAL, ENODATA, EOPNOTSUPP, EPERM, ERANGE)
from akuma.kernel.syscalls.args import path_arg, read_user, s32
from akuma.kernel.syscalls.fsmeta import R_OK, W_OK, _fd_target, _permission, _target
from akuma.kernel.syscalls.registry import syscall
from akuma.mm import EFault

XATTR_NAME_MAX = 255
XATTR_SIZE_MAX = 65536
XATTR_CREATE, XATTR_REPLACE = 1, 2
S_ISVTX = 0o1000

SECURITY, SYSTEM, TRUSTED, USER = b"security.", b"system.", b"trusted.", b"user."
_HANDLERS = (SECURITY, TRUSTED, USER)      # the namespaces a filesystem here answers for
_NO_XATTR_FS = (b"proc",)                   # filesystems without xattr support (no IOP_XATTR)
_SET_NOTE = "partial: no filesystem stores attributes (EOPNOTSUPP after the checks)"


def _name(t, addr):
    """import_xattr_name: at most XATTR_NAME_MAX bytes, not empty (ERANGE)."""
    try:
        name = t.process.aspace.read_cstr(addr, XATTR_NAME_MAX)
    except EFault:
        raise KernelError(EFAULT) from None
    if not name:                            # None: longer than the limit
        raise KernelError(ERANGE)
    return name


def _path_target(t, pathname, follow):
    path = path_arg(t, pathname)
    return _target(t, F.AT_FDCWD, path, 0 if follow else F.AT_SYMLINK_NOFOLLOW)


def _root(t):
    return t.process.creds.euid == 0


def _supports_xattr(tg):
    inode = tg.inode
    if inode is None:                       # pipes, sockets, anonymous inodes
        return False
    fs = getattr(inode, "fs", None)
    return getattr(fs, "fstype", b"") not in _NO_XATTR_FS


def _xattr_permission(t, tg, name, write):
    """fs/xattr.c xattr_permission."""
    if name.startswith((SECURITY, SYSTEM)):
        return
    if name.startswith(TRUSTED):
        if not _root(t):
            raise KernelError(EPERM if write else ENODATA)
        return
    st = tg.stat()
    if name.startswith(USER):
        kind = st.mode & S.S_IFMT
        if kind not in (S.S_IFREG, S.S_IFDIR):
            raise KernelError(EPERM if write else ENODATA)
        if kind == S.S_IFDIR and st.mode & S_ISVTX and write and \
                not _root(t) and t.process.creds.euid != st.uid:
            raise KernelError(EPERM)
    _permission(t, st, W_OK if write else R_OK)


def _security_write(t, name):
    """cap_inode_setxattr / cap_inode_removexattr: security.* needs privilege."""
    if name.startswith(SECURITY) and not _root(t):
        raise KernelError(EPERM)


def _resolve_handler(tg, name):
    """xattr_resolve_name: the namespace's handler, or why there is none."""
    if not _supports_xattr(tg):
        raise KernelError(EOPNOTSUPP)
    for prefix in _HANDLERS:
        if name.startswith(prefix):
            if name == prefix:
                raise KernelError(EINVAL)
            return prefix
    raise KernelError(EOPNOTSUPP)


# -- get -----------------------------------------------------------------------------------

def _get(t, tg, name):
    if name.startswith(SYSTEM):             # POSIX ACLs (no permission check) or nothing
        raise KernelError(EOPNOTSUPP)
    _xattr_permission(t, tg, name, False)
    _resolve_handler(tg, name)
    raise KernelError(ENODATA)


@syscall("getxattr", "path path hex size")
def sys_getxattr(t, pathname, name, value, size, *_):
    n = _name(t, name)
    return _get(t, _path_target(t, pathname, True), n)


@syscall("lgetxattr", "path path hex size")
def sys_lgetxattr(t, pathname, name, value, size, *_):
    n = _name(t, name)
    return _get(t, _path_target(t, pathname, False), n)


@syscall("fgetxattr", "fd path hex size")
def sys_fgetxattr(t, fd, name, value, size, *_):
    n = _name(t, name)
    return _get(t, _fd_target(t, fd), n)


# -- set -----------------------------------------------------------------------------------

def _set_args(t, name, value, size, flags):
    """setxattr_copy: flags, the name, then the value (E2BIG, EFAULT)."""
    if s32(flags) & ~(XATTR_CREATE | XATTR_REPLACE):
        raise KernelError(EINVAL)
    n = _name(t, name)
    if size:
        if size > XATTR_SIZE_MAX:
            raise KernelError(E2BIG)
        read_user(t, value, size)
    return n


def _set(t, tg, name):
    tg.check_writable_fs()
    if name.startswith(SYSTEM):
        raise KernelError(EOPNOTSUPP)
    _xattr_permission(t, tg, name, True)
    _security_write(t, name)
    _resolve_handler(tg, name)
    raise KernelError(EOPNOTSUPP)           # nothing here can store it


@syscall("setxattr", "path path hex size hex", note=_SET_NOTE)
def sys_setxattr(t, pathname, name, value, size, flags, *_):
    n = _set_args(t, name, value, size, flags)
    return _set(t, _path_target(t, pathname, True), n)


@syscall("lsetxattr", "path path hex size hex", note=_SET_NOTE)
def sys_lsetxattr(t, pathname, name, value, size, flags, *_):
    n = _set_args(t, name, value, size, flags)
    return _set(t, _path_target(t, pathname, False), n)


@syscall("fsetxattr", "fd path hex size hex", note=_SET_NOTE)
def sys_fsetxattr(t, fd, name, value, size, flags, *_):
    n = _set_args(t, name, value, size, flags)
    return _set(t, _fd_target(t, fd), n)


# -- list ----------------------------------------------------------------------------------
# No attribute anywhere: the list is empty whatever the buffer (Linux copies
# nothing for an empty list, so even a bad buffer is not EFAULT).

@syscall("listxattr", "path hex size")
def sys_listxattr(t, pathname, lst, size, *_):
    _path_target(t, pathname, True)
    return 0


@syscall("llistxattr", "path hex size")
def sys_llistxattr(t, pathname, lst, size, *_):
    _path_target(t, pathname, False)
    return 0


@syscall("flistxattr", "fd hex size")
def sys_flistxattr(t, fd, lst, size, *_):
    _fd_target(t, fd)
    return 0


# -- remove --------------------------------------------------------------------------------

def _remove(t, tg, name):
    tg.check_writable_fs()
    if name.startswith(SYSTEM):
        raise KernelError(EOPNOTSUPP)
    _xattr_permission(t, tg, name, True)
    _security_write(t, name)
    _resolve_handler(tg, name)
    raise KernelError(ENODATA)


@syscall("removexattr", "path path")
def sys_removexattr(t, pathname, name, *_):
    n = _name(t, name)
    return _remove(t, _path_target(t, pathname, True), n)


@syscall("lremovexattr", "path path")
def sys_lremovexattr(t, pathname, name, *_):
    n = _name(t, name)
    return _remove(t, _path_target(t, pathname, False), n)


@syscall("fremovexattr", "fd path")
def sys_fremovexattr(t, fd, name, *_):
    n = _name(t, name)
    return _remove(t, _fd_target(t, fd), n)
