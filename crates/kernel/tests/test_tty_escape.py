"""QEMU's Ctrl+A console escapes (booted systems only)."""
from akuma.kernel.tty.escape import EscapeKeys


def _keys():
    log = []
    keys = EscapeKeys(lambda: log.append("exit"), lambda: log.append("sync"), log.append)
    return keys, log


def test_plain_bytes_pass_through():
    keys, log = _keys()
    assert keys.filter(b"ls -l\r") == b"ls -l\r"
    assert log == []


def test_ctrl_a_x_exits_and_drops_the_rest():
    keys, log = _keys()
    assert keys.filter(b"ab\x01xcd") == b"ab"
    assert log[-1] == "exit"


def test_escape_split_across_reads_and_literal_ctrl_a():
    keys, log = _keys()
    assert keys.filter(b"a\x01") == b"a"
    assert keys.filter(b"\x01b") == b"\x01b"
    assert keys.filter(b"\x01s") == b""
    assert "sync" in log
    assert keys.filter(b"\x01q!") == b"!"          # unknown keys are dropped
    assert keys.filter(b"\x01h") == b"" and any(isinstance(x, bytes) and b"C-a x" in x
                                                 for x in log)
