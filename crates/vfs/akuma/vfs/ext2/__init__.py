"""akuma.vfs.ext2 — an ext2 (revision 1) filesystem on a host image file.

``Ext2Fs(image_path, readonly=False)`` is a VFS FileSystem (mount it with
``Vfs.mount``); ``sync()`` writes everything back, ``unmount()`` also marks
the filesystem clean and closes the image.  ``mkfs(path, size_bytes, ...)``
makes a fresh image.  See crates/vfs/README.md."""
from akuma.vfs.ext2.fs import Ext2Fs  # noqa: F401
from akuma.vfs.ext2.inode import (Ext2Dir, Ext2File, Ext2Inode, Ext2Node,  # noqa: F401
                                  Ext2OpenFile, Ext2Symlink)
from akuma.vfs.ext2.layout import Corrupt  # noqa: F401
from akuma.vfs.ext2.mkfs import mkfs  # noqa: F401
