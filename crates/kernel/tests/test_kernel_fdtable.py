"""FdTable: lowest free descriptor, EBADF, EMFILE, close-on-exec, and open
file descriptions closed only when their last descriptor goes."""
import pytest

from akuma.abi import KernelError
from akuma.abi.errors import EBADF, EMFILE
from akuma.kernel.fdtable import FdTable


class FakeFile:
    def __init__(self, name="f"):
        self.name = name
        self.closes = 0

    def close(self):
        self.closes += 1


def _errno(fn, *args):
    with pytest.raises(KernelError) as ei:
        fn(*args)
    return ei.value.errno


@pytest.fixture
def fds():
    return FdTable()


def test_install_lowest_free(fds):
    files = [FakeFile(i) for i in range(4)]
    assert [fds.install(f) for f in files[:3]] == [0, 1, 2]
    fds.close(1)
    assert fds.install(files[3]) == 1
    assert fds.get(1) is files[3]
    assert len(fds) == 3


def test_install_with_lowest(fds):
    fds.install(FakeFile())
    assert fds.install(FakeFile(), lowest=10) == 10
    assert fds.install(FakeFile(), lowest=10) == 11
    assert fds.install(FakeFile()) == 1


def test_get_and_close_bad_fd(fds):
    assert _errno(fds.get, 0) == EBADF
    assert _errno(fds.close, 3) == EBADF
    assert _errno(fds.get, -1) == EBADF
    fd = fds.install(FakeFile())
    fds.close(fd)
    assert _errno(fds.close, fd) == EBADF
    assert _errno(fds.get, fd) == EBADF


def test_emfile_at_limit(fds):
    for i in range(8):
        assert fds.install(FakeFile(), limit=8) == i
    f = FakeFile()
    assert _errno(fds.install, f, False, 0, 8) == EMFILE
    assert len(fds) == 8
    assert f.closes == 0
    assert getattr(f, "refs", 0) == 0
    fds.close(5)
    assert fds.install(f, limit=8) == 5


def test_emfile_when_lowest_is_past_limit(fds):
    assert _errno(fds.install, FakeFile(), False, 1024, 1024) == EMFILE


def test_cloexec_flags(fds):
    a = fds.install(FakeFile(), cloexec=True)
    b = fds.install(FakeFile())
    assert fds.is_cloexec(a) is True
    assert fds.is_cloexec(b) is False
    fds.set_cloexec(b, True)
    fds.set_cloexec(a, False)
    assert fds.is_cloexec(b) and not fds.is_cloexec(a)
    assert _errno(fds.is_cloexec, 9) == EBADF
    assert _errno(fds.set_cloexec, 9, True) == EBADF


def test_cloexec_does_not_survive_close_and_reuse(fds):
    fd = fds.install(FakeFile(), cloexec=True)
    fds.close(fd)
    assert fds.install(FakeFile()) == fd
    assert not fds.is_cloexec(fd)


def test_install_at_replaces_cloexec(fds):
    fds.install_at(4, FakeFile(), cloexec=True)
    fds.install_at(4, FakeFile())
    assert not fds.is_cloexec(4)


def test_refcounted_close(fds):
    f = FakeFile()
    a = fds.install(f)
    b = fds.install(f)                # dup
    fds.install_at(7, f)             # dup2
    assert f.refs == 3
    fds.close(a)
    assert f.closes == 0
    fds.close(7)
    assert f.closes == 0
    fds.close(b)
    assert f.closes == 1


def test_install_at_over_an_open_fd_drops_the_old_file(fds):
    old, new = FakeFile("old"), FakeFile("new")
    fds.install_at(3, old)
    fds.install_at(3, new)
    assert old.closes == 1
    assert new.closes == 0
    assert fds.get(3) is new


def test_install_at_same_file_same_fd_keeps_it_open(fds):
    f = FakeFile()
    fds.install_at(3, f)
    fds.install_at(3, f)             # dup2(3, 3)-like
    assert f.closes == 0
    assert f.refs == 1
    fds.close(3)
    assert f.closes == 1


def test_shared_between_tables(fds):
    """fork shares open file descriptions between two tables."""
    f = FakeFile()
    other = FdTable()
    fds.install(f)
    other.install(f)
    fds.close_all()
    assert f.closes == 0
    other.close_all()
    assert f.closes == 1


def test_close_all_closes_each_file_once(fds):
    files = [FakeFile(i) for i in range(5)]
    for f in files:
        fds.install(f)
    fds.install(files[0])
    fds.install(files[0], cloexec=True)
    fds.close_all()
    assert [f.closes for f in files] == [1] * 5
    assert len(fds) == 0


def test_items_and_contains(fds):
    a, b = FakeFile("a"), FakeFile("b")
    fds.install_at(5, b)
    fds.install(a)
    assert fds.items() == [(0, a), (5, b)]
    assert 5 in fds and 0 in fds and 1 not in fds
