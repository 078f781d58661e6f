"""`akuma image build`: Debian arm64 packages + our /etc -> an ext2 image.

Steps: resolve the dependency closure (apt, private state), download and
verify the .debs (cached), mkfs, unpack every data.tar into the image with
the merged-/usr layout, do by hand what maintainer scripts would have done
(/bin/sh, busybox's applet links, the CA bundle), add our /etc.  The image
is written to PATH.tmp and renamed at the end: an interrupted build never
leaves a half image at PATH."""
import os
import pathlib
import posixpath

from akuma.abi import KernelError
from akuma.image import sshkeys, sysfiles
from akuma.image.apt import AptState
from akuma.image.busybox import list_applets
from akuma.image.deb import data_tar
from akuma.image.errors import ImageError
from akuma.image.fetch import fetch_all
from akuma.image.progress import Progress
from akuma.image.writer import ImageWriter, MERGED

DEFAULT_PACKAGES = ("busybox-static", "coreutils", "dash", "libc6", "musl", "tcc", "libc6-dev",
                    "sqlite3", "git", "vim-tiny", "ca-certificates")
DEFAULT_SIZE = 1 << 30

# Like Debian's minimal images (dpkg path-exclude): no manuals or translations.
_EXCLUDED = ("/usr/share/man/", "/usr/share/info/", "/usr/share/locale/",
             "/usr/share/lintian/", "/usr/share/bug/", "/usr/share/doc/")
_CA_DIR = "/usr/share/ca-certificates/"
CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"
# What the packages' postinst scripts register with update-alternatives:
# (link, alternative name, target); set up when the target is installed.
ALTERNATIVES = [
    ("usr/bin/vi", "vi", "/usr/bin/vim.tiny"),
    ("usr/bin/view", "view", "/usr/bin/vim.tiny"),
    ("usr/bin/ex", "ex", "/usr/bin/vim.tiny"),
    ("usr/bin/editor", "editor", "/usr/bin/vim.tiny"),
]


def _skip(path):
    if path.startswith("/usr/share/doc/") and path.endswith("/copyright"):
        return False                       # licences stay
    return path.startswith(_EXCLUDED)


def resolve(packages, cache_dir, progress=None):
    """(packages with URLs and hashes, {name: verified .deb path})."""
    apt = AptState(pathlib.Path(cache_dir) / "apt-arm64")
    if progress:
        progress.note(f"resolving {' '.join(packages)}")
    pkgs = apt.closure(list(packages))
    return pkgs, fetch_all(pkgs, apt.dir / "debs", progress)


def build_image(output, size=DEFAULT_SIZE, packages=DEFAULT_PACKAGES, cache_dir=None,
                progress=None, authorized_keys=None):
    """Build the image at ``output``; returns a summary dict.  The host
    user's ~/.ssh/*.pub become root's and user's authorized_keys unless
    ``authorized_keys`` (bytes) is given."""
    from akuma.image.apt import default_cache_dir
    from akuma.vfs.ext2 import mkfs
    progress = progress or Progress(enabled=False)
    cache_dir = cache_dir or default_cache_dir()
    pkgs, debs = resolve(packages, cache_dir, progress)
    output = os.fspath(output)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    tmp = output + ".tmp"
    try:
        mkfs(tmp, size, label=b"akuma-root")
    except (OSError, ValueError) as e:
        raise ImageError(f"cannot create {tmp}: {e}") from None
    w = ImageWriter(tmp)
    try:
        for d in MERGED:
            w.mkdir("usr/" + d)
            w.fs.root.symlink(d.encode(), b"usr/" + d.encode())
        certs = []
        for i, p in enumerate(pkgs):
            tar = data_tar(debs[p.name])
            w.add_tar(tar, _skip)
            if p.name == "ca-certificates":
                certs = _collect_certs(debs[p.name])
            progress.update("installing", i + 1, len(pkgs))
        progress.end()
        if w.exists("bin/dash"):
            w.symlink("bin/sh", "dash")
        if certs:
            w.write(CA_BUNDLE, b"".join(certs))
        _alternatives(w)
        links = _link_applets(w) if w.exists("bin/busybox") else 0
        sysfiles.install(w)
        sshkeys.install(w, sshkeys.host_public_keys() if authorized_keys is None
                        else authorized_keys)
        stat = w.fs.statfs()
    except (KernelError, OSError) as e:
        _close_quietly(w)
        _remove(tmp)
        raise ImageError(f"writing the image: {e}") from None
    except BaseException:
        _close_quietly(w)
        _remove(tmp)
        raise
    w.close()
    os.replace(tmp, output)
    used = (stat["f_blocks"] - stat["f_bfree"]) * stat["f_bsize"]
    return dict(packages=len(pkgs), applet_links=links, used_bytes=used, path=output)


def _collect_certs(deb):
    """What update-ca-certificates would bundle: every shipped certificate."""
    out = []
    tar = data_tar(deb)
    for m in tar:
        path = posixpath.normpath("/" + m.name)
        if m.isreg() and path.startswith(_CA_DIR) and path.endswith(".crt"):
            with tar.extractfile(m) as f:
                data = f.read()
            out.append(data if data.endswith(b"\n") else data + b"\n")
    return out


def _alternatives(w):
    """/usr/bin/vi -> /etc/alternatives/vi -> /usr/bin/vim.tiny, as Debian has it."""
    for link, name, target in ALTERNATIVES:
        if w.exists(target) and not w.exists(link):
            w.symlink(f"etc/alternatives/{name}", target)
            w.symlink(link, f"/etc/alternatives/{name}")


def _link_applets(w):
    """busybox --install -s, minus every path a package already provides."""
    n = 0
    for path in list_applets(w.fs):
        if path.endswith("/busybox") or w.exists(path):
            continue
        w.symlink(path, "/bin/busybox")
        n += 1
    if n == 0:
        raise ImageError("busybox listed no applets")
    return n


def _close_quietly(w):
    try:
        w.close()
    except Exception:   # noqa: BLE001 — the build already failed; report that
        pass


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass
