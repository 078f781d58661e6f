import os

from akuma.abi import fcntl as F
from akuma.abi import stat as st
from akuma.abi.errors import EBADF, ENOTTY, ESPIPE
from akuma.vfs import HostStream

from vfs_helpers import raises


def test_pipe_stream():
    r, w = os.pipe()
    rs, ws = HostStream(r, b"pipe:[r]"), HostStream(w, b"pipe:[w]")
    assert rs.readable and not rs.writable and ws.writable
    assert rs.poll_ready() == (False, False) and ws.poll_ready()[1]
    assert ws.write(b"hello ") == 6
    assert ws.writefrom([memoryview(b"wor"), memoryview(b"ld")]) == 5
    assert rs.poll_ready()[0]
    assert rs.read(3) == b"hel"
    buf = bytearray(20)
    assert rs.readinto([memoryview(buf)[:2], memoryview(buf)[2:]]) == 8
    assert bytes(buf[:8]) == b"lo world"
    assert rs.stat().mode & st.S_IFMT == st.S_IFIFO
    assert not rs.seekable and not rs.isatty
    with raises(ESPIPE):
        rs.lseek(0, F.SEEK_SET)
    with raises(ESPIPE):
        rs.pread(1, 0)
    with raises(EBADF):
        rs.write(b"x")
    with raises(ENOTTY):
        rs.ioctl(0x5401, 0)
    assert rs.host_fd == r and rs.path == b"pipe:[r]"
    rs.close()
    ws.close()
    assert rs.host_fd is None


def test_file_stream(tmp_path):
    p = tmp_path / "out"
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_APPEND)
    s = HostStream(fd, b"/out")
    assert s.flags & F.O_APPEND and s.flags & F.O_ACCMODE == F.O_RDWR
    s.write(b"abc")
    assert s.seekable and s.lseek(0, F.SEEK_SET) == 0
    assert s.read(10) == b"abc"
    assert s.stat().mode & st.S_IFMT == st.S_IFREG and s.stat().size == 3
    s.close()


def test_tty_stream():
    import pty
    m, sl = pty.openpty()
    try:
        s = HostStream(os.dup(sl), b"/dev/pts/0")
        assert s.isatty
        assert s.stat().mode & st.S_IFMT == st.S_IFCHR
        with raises(ESPIPE):
            s.lseek(0, F.SEEK_CUR)
        s.close()
    finally:
        os.close(m)
        os.close(sl)
