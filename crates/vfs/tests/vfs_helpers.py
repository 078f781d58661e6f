import contextlib

import pytest

from akuma.abi import KernelError


@contextlib.contextmanager
def raises(err):
    with pytest.raises(KernelError) as ei:
        yield ei
    assert ei.value.errno == err, f"expected {err}, got {ei.value.errno} ({ei.value})"
