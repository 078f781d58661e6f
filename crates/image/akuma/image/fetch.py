"""Downloading .debs into the cache, each checked against the SHA256 the
archive's signed index gives for it.  A cached file is re-hashed before use,
so a truncated or corrupted cache entry is fetched again."""
import hashlib
import os
import urllib.error
import urllib.request

from akuma.image.errors import ImageError

CHUNK = 1 << 16


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_all(packages, debs_dir, progress=None):
    """{package name: path of its verified .deb in ``debs_dir``}."""
    os.makedirs(debs_dir, exist_ok=True)
    paths = {}
    todo = []
    for p in packages:
        path = os.path.join(debs_dir, p.filename)
        if os.path.exists(path) and sha256_of(path) == p.sha256:
            paths[p.name] = path
        else:
            todo.append(p)
    total = sum(p.size for p in todo)
    done = 0
    for p in todo:
        path = os.path.join(debs_dir, p.filename)
        done = _download(p, path, done, total, progress)
        paths[p.name] = path
    if progress and todo:
        progress.update("downloading", total, total, "B")
        progress.end()
    return paths


def _download(p, path, done, total, progress):
    tmp = path + ".part"
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(p.url, timeout=60) as r, open(tmp, "wb") as out:
            while True:
                chunk = r.read(CHUNK)
                if not chunk:
                    break
                h.update(chunk)
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress.update("downloading", done, total, "B")
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        _remove(tmp)
        reason = getattr(e, "reason", None) or e
        raise ImageError(f"cannot download {p.name} from {p.url}: {reason}") from None
    if h.hexdigest() != p.sha256:
        _remove(tmp)
        raise ImageError(f"{p.name}: SHA256 mismatch for {p.url} "
                         f"(got {h.hexdigest()}, index says {p.sha256})")
    os.replace(tmp, path)
    return done


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass
