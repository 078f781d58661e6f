"""Reading a .deb: an ar archive whose data.tar.{xz,gz,bz2,zst,} member
holds the files.  Maintainer scripts (control.tar) are never run."""
import io
import tarfile

from akuma.image.errors import ImageError

_AR_MAGIC = b"!<arch>\n"


def _members(data, path):
    if data[:8] != _AR_MAGIC:
        raise ImageError(f"{path}: not a .deb (no ar header)")
    off = 8
    while off + 60 <= len(data):
        hdr = data[off:off + 60]
        name = hdr[:16].rstrip(b" ").rstrip(b"/").decode(errors="replace")
        try:
            size = int(hdr[48:58])
        except ValueError:
            raise ImageError(f"{path}: damaged ar header") from None
        off += 60
        yield name, data[off:off + size]
        off += size + (size & 1)


def data_tar(path):
    """The package's data archive as an open ``tarfile.TarFile``."""
    with open(path, "rb") as f:
        data = f.read()
    for name, body in _members(data, path):
        if not name.startswith("data.tar"):
            continue
        if name.endswith(".zst"):
            body = _unzstd(body, path)
        try:
            return tarfile.open(fileobj=io.BytesIO(body), mode="r:*")
        except tarfile.TarError as e:
            raise ImageError(f"{path}: {name}: {e}") from None
    raise ImageError(f"{path}: no data.tar member")


def _unzstd(body, path):
    try:
        import zstandard
    except ImportError:
        raise ImageError(f"{path}: data.tar.zst needs the 'zstandard' module "
                         f"(pip install zstandard)") from None
    return zstandard.ZstdDecompressor().decompressobj().decompress(body)


def extract(path, dest):
    """Unpack the package's files under the host directory ``dest`` (as
    `dpkg-deb -x` does; used for test sysroots)."""
    tar = data_tar(path)
    try:
        tar.extractall(dest, filter="tar")
    except TypeError:                 # Python without extraction filters
        tar.extractall(dest)
