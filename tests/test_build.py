"""The Cython extensions link to the unicorn wheel's libunicorn.so.2 with an
rpath relative to the installed package (no LD_LIBRARY_PATH needed)."""
import glob
import os
import shutil
import subprocess

import pytest

import akuma.arch
import akuma.mm


@pytest.mark.parametrize("pkg", [akuma.arch, akuma.mm], ids=["arch", "mm"])
def test_extension_links_libunicorn_with_relative_rpath(pkg):
    if not shutil.which("readelf"):
        pytest.skip("readelf (binutils) is not installed")
    sos = glob.glob(os.path.join(os.path.dirname(pkg.__file__), "*.so"))
    assert sos, "extension not built"
    for so in sos:
        dyn = subprocess.run(["readelf", "-d", so], capture_output=True, text=True).stdout
        assert "libunicorn.so.2" in dyn
        assert "$ORIGIN/../../unicorn/lib" in dyn
        assert "pip-build-env" not in dyn     # no path of a deleted build env
