"""The `akuma` command line: value parsers and the argument parser."""
import argparse
import io
import contextlib

import pytest

from akuma.cli import main as M
from akuma.cli.options import parse_size, parse_volume, parse_env

MiB = 1 << 20


@pytest.mark.parametrize("text,value", [
    ("512M", 512 * MiB), ("1G", 1 << 30), ("64M", 64 * MiB), ("16M", 16 * MiB),
    ("16m", 16 * MiB), ("2g", 2 << 30), ("1GiB", 1 << 30), ("100MB", 100 * MiB),
    ("65536K", 64 * MiB), (str(32 * MiB), 32 * MiB), (" 128M ", 128 * MiB), ("64G", 64 << 30),
])
def test_parse_size(text, value):
    assert parse_size(text) == value


def test_parse_size_rounds_up_to_64k():
    v = parse_size(str(16 * MiB + 1))
    assert v % 65536 == 0 and v >= 16 * MiB + 1 and v - (16 * MiB + 1) < 65536


@pytest.mark.parametrize("text", ["", "M", "12X", "1.5G", "-1G", "ten", "1 G", "0x100M", "1T"])
def test_parse_size_bad(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)


@pytest.mark.parametrize("text", ["15M", "0", "1K", "16383K", str(16 * MiB - 1)])
def test_parse_size_below_16m_rejected(text):
    with pytest.raises(argparse.ArgumentTypeError, match="16M"):
        parse_size(text)


def test_parse_size_above_64g_rejected():
    with pytest.raises(argparse.ArgumentTypeError, match="64G"):
        parse_size("65G")


@pytest.mark.parametrize("text,value", [
    ("/a:/b", ("/a", "/b", False)),
    ("/a:/b:ro", ("/a", "/b", True)),
    ("/a:/b:rw", ("/a", "/b", False)),
    ("rel/dir:/mnt", ("rel/dir", "/mnt", False)),
    ("/host:/", ("/host", "/", False)),
])
def test_parse_volume(text, value):
    assert parse_volume(text) == value


@pytest.mark.parametrize("text", ["/a", "/a:b", ":/b", "/a:", "/a:/b:rx", "/a:/b:ro:x", "",
                                  "/a:/b:"])
def test_parse_volume_bad(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_volume(text)


@pytest.mark.parametrize("text", ["K=V", "K=", "K=a=b", "PATH=/bin:/usr/bin"])
def test_parse_env(text):
    assert parse_env(text) == text


@pytest.mark.parametrize("text", ["K", "=V", "", "="])
def test_parse_env_bad(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_env(text)


# -- the parser -----------------------------------------------------------------------

def _parse(argv):
    """Parse as main() does (its handling of `--` included), without running."""
    captured = {}

    def fake_run(opts):
        captured["opts"] = opts
        return 0

    import akuma.cli.run as run_mod
    orig = run_mod.run
    run_mod.run = fake_run
    try:
        assert M.main(list(argv)) == 0
    finally:
        run_mod.run = orig
    return captured["opts"]


def test_full_run_command_line():
    argv = ["run", "-v", "/a:/b", "-w", "/b", "-e", "K=V", "--mem", "64M",
            "--strace=read,write", "--", "prog", "arg1", "--flag"]
    opts = _parse(argv)
    assert opts.command == "run"
    assert opts.program == "prog"
    assert opts.args == ["arg1", "--flag"]
    assert opts.volume == [("/a", "/b", False)]
    assert opts.workdir == "/b"
    assert opts.env == ["K=V"]
    assert opts.mem == 64 * MiB
    assert opts.strace == "read,write"
    assert opts.clean_env is False
    # build_parser() alone agrees.
    assert vars(M.build_parser().parse_args(argv)) == vars(opts)


def test_defaults():
    opts = _parse(["run", "prog"])
    assert opts.program == "prog" and opts.args == []
    assert opts.volume == [] and opts.env == [] and opts.workdir is None
    assert opts.mem == M.DEFAULT_MEM == 512 * MiB
    assert opts.strace is None


def test_program_options_without_double_dash():
    opts = _parse(["run", "prog", "-v", "--mem", "1G"])
    assert opts.program == "prog"
    assert opts.args == ["-v", "--mem", "1G"]
    assert opts.mem == M.DEFAULT_MEM


def test_double_dash_in_program_args_is_kept():
    opts = _parse(["run", "--", "prog", "a", "--", "b"])
    assert opts.program == "prog"
    assert opts.args == ["a", "--", "b"]


def test_repeated_options_accumulate():
    opts = _parse(["run", "-v", "/a:/a", "-v", "/b:/c:ro", "-e", "A=1", "-e", "B=2", "p"])
    assert opts.volume == [("/a", "/a", False), ("/b", "/c", True)]
    assert opts.env == ["A=1", "B=2"]


def test_strace_without_filter():
    opts = _parse(["run", "--strace", "--", "prog"])
    assert opts.strace == ""
    assert opts.program == "prog"


def test_bare_strace_before_program():
    # `--strace` has an optional value: a bare one must not swallow the program.
    opts = _parse(["run", "--strace", "prog", "arg"])
    assert opts.program == "prog"
    assert opts.args == ["arg"]
    assert opts.strace == ""


@pytest.mark.parametrize("argv", [
    ["run"],                                  # no program
    ["run", "--mem", "8M", "prog"],
    ["run", "-v", "nocolon", "prog"],
    ["run", "-e", "NOEQUALS", "prog"],
    ["bogus"],
])
def test_bad_command_lines_exit_2(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as ei:
        M.main(argv)
    assert ei.value.code == 2
    assert "usage:" in err.getvalue()


def test_no_command_boots_and_a_missing_image_is_one_line(tmp_path):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert M.main(["--image", str(tmp_path / "none.img"), "-c", "true"]) == 125
    assert err.getvalue().count("\n") == 1 and "no such image" in err.getvalue()


def test_boot_options_are_parsed():
    opts = M.build_parser().parse_args(M._normalize_top_args(
        ["--strace", "--snapshot", "-p", "2222:22", "-p", "53:53/udp", "-v", "/a:/b:ro",
         "--mem", "1G", "-q", "-c", "ls"]))
    assert opts.command is None and opts.shell_command == "ls"
    assert opts.strace == "" and opts.snapshot and opts.quiet
    assert opts.publish == [("127.0.0.1", 2222, 22, "tcp"), ("127.0.0.1", 53, 53, "udp")]
    assert opts.volume == [("/a", "/b", True)] and opts.mem == 1 << 30


def test_syscalls_listing():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert M.main(["syscalls"]) == 0
    lines = out.getvalue().splitlines()
    assert any(line.split()[:3] == ["64", "write", "yes"] for line in lines)
    assert any(line.split()[:3] == ["0", "io_setup", "ENOSYS"] for line in lines)
    missing = io.StringIO()
    with contextlib.redirect_stdout(missing):
        assert M.main(["syscalls", "--missing"]) == 0
    mlines = missing.getvalue().splitlines()
    assert mlines and all(line.rstrip().endswith("ENOSYS") for line in mlines)
    assert len(mlines) < len(lines)


def test_internal_errors_are_one_line_and_70(monkeypatch):
    import akuma.cli.run as run_mod

    def broken(opts):
        raise RuntimeError("kaput")

    monkeypatch.setattr(run_mod, "run", broken)
    monkeypatch.delenv("AKUMA_DEBUG", raising=False)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert M.main(["run", "prog"]) == 70
    assert err.getvalue().count("\n") == 1
    assert "kaput" in err.getvalue() and "Traceback" not in err.getvalue()


def test_keyboard_interrupt_is_130(monkeypatch):
    import akuma.cli.run as run_mod

    def interrupted(opts):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_mod, "run", interrupted)
    assert M.main(["run", "prog"]) == 130
