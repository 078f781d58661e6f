"""The mount table as text: /proc/mounts (fstab format) and
/proc/<pid>/mountinfo, seen from a process root (mounts outside a chroot are
not shown; the paths inside are relative to it)."""
from akuma.vfs.mount import MS_NOATIME, MS_NODEV, MS_NOEXEC, MS_NOSUID


def _mangle(path):
    """Linux's escaping of space, tab, newline and backslash in mount files."""
    out = bytearray()
    for c in path:
        if c in b" \t\n\\":
            out += b"\\%03o" % c
        else:
            out.append(c)
    return bytes(out)


def mount_options(m):
    opts = [b"ro" if m.readonly else b"rw"]
    for bit, name in ((MS_NOSUID, b"nosuid"), (MS_NODEV, b"nodev"), (MS_NOEXEC, b"noexec")):
        if m.flags & bit:
            opts.append(name)
    opts.append(b"noatime" if m.flags & MS_NOATIME else b"relatime")
    return opts


def fs_options(fs):
    """What the filesystem adds (tmpfs: its size limit)."""
    extra = getattr(fs, "mount_options", None)
    return list(extra()) if extra is not None else []


def _visible(vfs, root):
    """(mount, path as the process sees it) for the mounts under ``root``
    (a global path)."""
    root = root.rstrip(b"/")
    for m in vfs.mounts():
        if not root:
            yield m, m.path
        elif m.path == root:
            yield m, b"/"
        elif m.path.startswith(root + b"/"):
            yield m, m.path[len(root):]


def proc_mounts(vfs, root=b"/"):
    lines = []
    for m, path in _visible(vfs, root):
        opts = b",".join(mount_options(m) + fs_options(m.fs))
        lines.append(b"%s %s %s %s 0 0\n" % (_mangle(m.source or b"none"), _mangle(path),
                                              m.fs.fstype, opts))
    return b"".join(lines)


def mountinfo(vfs, root=b"/"):
    lines = []
    for m, path in _visible(vfs, root):
        dev = m.fs.dev
        major = ((dev >> 8) & 0xFFF) | ((dev >> 32) & 0xFFFFF000)
        minor = (dev & 0xFF) | ((dev >> 12) & 0xFFFFFF00)
        parent = m.parent.id if m.parent is not None else 1
        sb = [b"ro" if m.fs.readonly or m.readonly else b"rw"]
        lines.append(b"%d %d %d:%d %s %s %s - %s %s %s\n" % (
            m.id, parent, major, minor, _mangle(m.root_path), _mangle(path),
            b",".join(mount_options(m)), m.fs.fstype, _mangle(m.source or b"none"),
            b",".join(sb + fs_options(m.fs))))
    return b"".join(lines)
