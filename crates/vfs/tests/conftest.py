"""Make akuma.abi / akuma.vfs importable from the source tree when the
project is not installed (``akuma`` is a namespace package over crates/*;
its __path__ follows sys.path, so adding the crate dirs is enough)."""
import os
import sys

try:
    import akuma.abi  # noqa: F401
    import akuma.vfs  # noqa: F401
except ImportError:
    _crates = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    for _c in ("abi", "vfs"):
        _p = os.path.join(_crates, _c)
        if _p not in sys.path:
            sys.path.insert(0, _p)
