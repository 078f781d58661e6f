import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from workloads import guestlib  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _need_zig():
    if not guestlib.zig_available():
        pytest.skip("ziglang is not installed (pip install ziglang)")
