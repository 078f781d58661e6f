"""sysfs: enough of /sys for programs that look for its top-level
directories (there are no devices or kernel objects to show yet).
Read-only, like the real one for anything but attribute files."""
from akuma.abi import stat as st

from akuma.vfs.memfs import MemDir, MemFs

TOP = (b"block", b"bus", b"class", b"dev", b"devices", b"firmware", b"fs", b"kernel",
       b"module", b"power")


class SysFs(MemFs):
    fstype = b"sysfs"
    autocreate_mountpoints = False

    def __init__(self):
        super().__init__(limit=0, mode=0o555)
        for name in TOP:
            self.root.children[name] = MemDir(self, st.S_IFDIR | 0o755, parent=self.root)
            self.root.nlink += 1
        self.readonly = True

    def mount_options(self):
        return []
