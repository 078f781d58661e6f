"""akuma.image — system images from Debian arm64 packages.

| module | job |
|---|---|
| apt.py | dependency closure and SHA256s through apt with a private arm64 state |
| fetch.py | downloading .debs into the cache, checked against the SHA256s |
| deb.py | reading a .deb's data.tar |
| writer.py | writing files into an ext2 image (merged /usr) with akuma.vfs.ext2 |
| busybox.py | busybox's applet list, by running it on Akuma |
| sysfiles.py | our /etc, init scripts, banner, mount points |
| build.py | `akuma image build`: all of the above in order |
| cache.py | the per-user default image, built once under a lock |
| sparse.py | copying an image without filling its holes |
| progress.py | the progress bar |
"""
from akuma.image.errors import ImageError  # noqa: F401
