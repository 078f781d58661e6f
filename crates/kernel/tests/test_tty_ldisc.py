"""The line discipline alone (akuma.kernel.tty.ldisc), against what Linux's
n_tty does for the same keystrokes, and the kernel-side pty API."""
from akuma.abi import signals as S
from akuma.abi import KernelError
from akuma.abi.errors import EIO
from akuma.kernel.tty import termios as T
from akuma.kernel.tty.ldisc import LineDiscipline, N_TTY_BUF_SIZE


def _ld(**flags):
    tm = T.Termios()
    for k, v in flags.items():
        setattr(tm, k, v)
    out, sigs = [], []
    ld = LineDiscipline(tm, out.append, sigs.append)
    return ld, out, sigs


def test_canonical_erase_kill_werase_and_echo():
    ld, out, _ = _ld()
    ld.receive(b"ab\x7fc\n")
    assert ld.take(100) == b"ac\n"
    assert b"".join(out) == b"ab\b \bc\r\n"
    out.clear()
    ld.receive(b"xyz\x15q\n")
    assert ld.take(100) == b"q\n"
    assert b"".join(out) == b"xyz" + b"\b \b" * 3 + b"q\r\n"
    ld.receive(b"foo bar\x17baz\n")
    assert ld.take(100) == b"foo baz\n"


def test_canonical_eof_and_partial_reads():
    ld, out, _ = _ld()
    ld.receive(b"hi\x04")
    assert ld.take(100) == b"hi"
    assert not ld.available()
    ld.receive(b"\x04")
    assert ld.available() and ld.take(100) == b""        # read() returns 0
    ld.receive(b"one\ntwo\n")
    assert ld.inq() == 8
    assert ld.take(2) == b"on" and ld.take(100) == b"e\n" and ld.take(100) == b"two\n"


def test_echoctl_echok_and_lnext():
    ld, out, _ = _ld()
    ld.receive(b"\x01\x16\x7f\n")
    assert ld.take(10) == b"\x01\x7f\n"
    assert b"".join(out) == b"^A^\b^?\r\n"
    ld, out, _ = _ld(lflag=T.ICANON | T.ECHO | T.ECHOK | T.ECHOCTL)     # no ECHOKE/ECHOE
    ld.receive(b"ab\x15")
    assert b"".join(out) == b"ab^U\r\n"


def test_isig_flushes_and_signals():
    ld, out, sigs = _ld()
    ld.receive(b"partial\x03")
    assert sigs == [S.SIGINT] and ld.buffered() == 0
    assert b"".join(out).endswith(b"^C")
    ld.receive(b"\x1a\x1c")
    assert sigs == [S.SIGINT, S.SIGTSTP, S.SIGQUIT]
    ld.termios.lflag &= ~T.ISIG
    ld.receive(b"\x03\n")
    assert ld.take(10) == b"\x03\n"


def test_input_maps_and_raw_mode():
    ld, _, _ = _ld(lflag=0)
    ld.receive(b"a\rb")
    assert ld.take(10) == b"a\nb"            # ICRNL
    ld.termios.iflag = T.IGNCR
    ld.receive(b"a\rb")
    assert ld.take(10) == b"ab"
    ld.termios.iflag = T.INLCR
    ld.receive(b"\n")
    assert ld.take(10) == b"\r"
    ld.termios.cc[T.VMIN], ld.termios.cc[T.VTIME] = 3, 0
    ld.receive(b"ab")
    assert ld.poll_amount() == 3 and not ld.available(ld.poll_amount())


def test_output_processing():
    ld, _, _ = _ld()
    assert ld.process_output(b"a\nb") == b"a\r\nb"
    ld.termios.oflag = T.OPOST | T.OCRNL
    assert ld.process_output(b"a\rb") == b"a\nb"
    ld.termios.oflag = T.OPOST | T.XTABS
    ld.column = 0
    assert ld.process_output(b"ab\tc") == b"ab      c"
    ld.termios.oflag = 0
    assert ld.process_output(b"a\n") == b"a\n"


def test_tab_erase_backs_up_the_columns_it_took():
    ld, out, _ = _ld()
    ld.receive(b"ab\t\x7f")
    assert out[-1] == b"\b" * 6


def test_canonical_switch_and_full_buffer():
    ld, _, _ = _ld()
    ld.receive(b"done\nhalf")
    ld.set_termios(T.Termios(lflag=0))
    assert ld.take(100) == b"done\nhalf"
    ld, _, _ = _ld(lflag=T.ICANON)
    taken = ld.receive(b"x" * (N_TTY_BUF_SIZE + 100) + b"\n")
    assert taken == N_TTY_BUF_SIZE + 101          # a full line still ends
    assert ld.take(1 << 20) == b"x" * (N_TTY_BUF_SIZE - 1) + b"\n"
    ld, _, _ = _ld(lflag=0)
    assert ld.receive(b"y" * 5000) == N_TTY_BUF_SIZE - 1    # raw: throttled, not lost


def test_open_pty_api_for_kernel_code():
    """A pty pair without a guest: what the slave writes comes out of the
    master, keystrokes on the master go through the slave's discipline,
    listeners hear of it, and closing the slave gives the master EIO."""
    from akuma.kernel import Kernel
    from akuma.kernel.tty import open_pty
    from akuma.vfs import Vfs, make_devfs
    vfs = Vfs()
    vfs.mount(b"/dev", make_devfs())
    k = Kernel(vfs, mem=16 << 20)
    master, slave, index = open_pty(k)
    assert vfs.stat(b"/dev/pts/%d" % index).rdev == slave.tty.rdev
    woken = []
    master.on_wake(lambda: woken.append(1))
    assert master.write_nowait(b"ls\r") == 3
    assert woken and master.read_nowait() == b"ls\r\n"          # the echo
    assert slave.readinto([memoryview(bytearray(10))]) == 3
    slave.write(b"out\n")
    assert master.read_nowait() == b"out\r\n"
    assert master.read_nowait() == b""
    slave.close()
    try:
        master.read_nowait()
        raise AssertionError("expected EIO")
    except KernelError as e:
        assert e.errno == EIO
    master.close()
    try:
        vfs.stat(b"/dev/pts/%d" % index)
        raise AssertionError("node should be gone")
    except KernelError:
        pass
