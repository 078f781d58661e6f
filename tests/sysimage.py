"""The system image the boot tests use: built once per machine by
akuma.image (the .debs and the image are cached under <repo>/.cache), then
copied (sparsely) for each test that writes to it."""
import os
import pathlib

import pytest

from akuma.image import ImageError
from akuma.image.cache import default_image
from akuma.image.sparse import copy_sparse

REPO = pathlib.Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"
# The default package set minus the CA bundle; every program the issue names
# (dash, sqlite3, git, tcc, vim-tiny, GNU coreutils' head) is in it.
# AKUMA_TEST_PACKAGES (comma list) picks another set.
PACKAGES = tuple(os.environ.get("AKUMA_TEST_PACKAGES", "").split(",")) if \
    os.environ.get("AKUMA_TEST_PACKAGES") else \
    ("busybox-static", "coreutils", "dash", "libc6", "musl", "sqlite3", "git", "tcc",
     "libc6-dev", "vim-tiny")
SIZE = 512 << 20


def cached_image():
    """Path of the shared, never-written test image (skips when no archive)."""
    try:
        path, _ = default_image(cache_dir=CACHE, packages=PACKAGES, size=SIZE)
    except ImageError as e:
        pytest.skip(f"cannot build the test image: {e}")
    return path


def fresh_copy(dest):
    copy_sparse(cached_image(), dest)
    return str(dest)
