"""akuma.vfs — the virtual filesystem: mount table and path walk (Vfs), open
file descriptions (OpenFile), and the filesystems: memfs (tmpfs), devfs,
hostfs, procfs; plus HostStream for the host's stdio."""
from akuma.vfs.devfs import (CHRDEVS, CharDevFile, DevFs, make_devfs,  # noqa: F401
                             register_chrdev)
from akuma.vfs.dirent import (DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG,  # noqa: F401
                              DT_SOCK, DT_UNKNOWN, dtype_of, pack_dirents)
from akuma.vfs.hostfs import HostFile, HostFs, HostInode  # noqa: F401
from akuma.vfs.hoststream import HostStream  # noqa: F401
from akuma.vfs.inode import FileSystem, Inode, alloc_dev  # noqa: F401
from akuma.vfs.memfs import MemFs  # noqa: F401
from akuma.vfs.mount import Loc, Mount  # noqa: F401
from akuma.vfs.openfile import OpenFile  # noqa: F401
from akuma.vfs.path import MAXSYMLINKS, NAME_MAX, PATH_MAX  # noqa: F401
from akuma.vfs.procfs import ProcFs  # noqa: F401
from akuma.vfs.vfs import Vfs  # noqa: F401
