"""`akuma run` as a user meets it: exit codes, one-line errors, --strace,
volumes, and Ctrl+C."""
import shutil
import signal
import subprocess
import sys
import time

import pytest

from harness import AKUMA, test_env as _env


def _one_line_error(cp, *words):
    err = cp.stderr.decode()
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    for w in words:
        assert w in lines[0], lines[0]


def test_missing_program_is_127(akuma, tmp_path):
    cp = akuma("run", str(tmp_path / "nope"))
    assert cp.returncode == 127
    _one_line_error(cp, "No such file or directory")


def test_not_an_elf_is_126(akuma, tmp_path):
    script = tmp_path / "text"
    script.write_bytes(b"just text\n")
    script.chmod(0o755)
    cp = akuma("run", str(script))
    assert cp.returncode == 126
    _one_line_error(cp, "not an ELF")


def test_x86_64_binary_is_wrong_architecture(akuma):
    host_binary = shutil.which("true") or sys.executable
    cp = akuma("run", host_binary)
    assert cp.returncode == 126
    _one_line_error(cp, "wrong architecture", "x86-64")


@pytest.mark.parametrize("size,msg", [(40, "truncated ELF"), (100, "truncated ELF"),
                                      (3000, "truncated ELF")])
def test_truncated_elf_is_126(akuma, guest, tmp_path, size, msg):
    data = open(guest("hello"), "rb").read()[:size]
    p = tmp_path / "trunc"
    p.write_bytes(data)
    p.chmod(0o755)
    cp = akuma("run", str(p))
    assert cp.returncode == 126
    _one_line_error(cp, msg)


def test_corrupt_program_headers_is_126(akuma, guest, tmp_path):
    data = bytearray(open(guest("hello"), "rb").read())
    data[0x36:0x38] = (13).to_bytes(2, "little")      # e_phentsize
    p = tmp_path / "bad"
    p.write_bytes(bytes(data))
    p.chmod(0o755)
    cp = akuma("run", str(p))
    assert cp.returncode == 126
    _one_line_error(cp, "malformed ELF")


def test_directory_and_non_executable_are_126(akuma, guest, tmp_path):
    cp = akuma("run", str(tmp_path))
    assert cp.returncode == 126
    _one_line_error(cp, "Is a directory")
    p = tmp_path / "noexec"
    shutil.copy(guest("hello"), p)
    p.chmod(0o644)
    cp = akuma("run", str(p))
    assert cp.returncode == 126
    _one_line_error(cp, "Permission denied")


def test_bad_options_are_usage_errors(akuma):
    assert akuma("run", "--mem", "1K", "x").returncode == 2
    assert akuma("run", "-v", "relative", "x").returncode == 2
    assert b"Traceback" not in akuma("run", "--mem", "lots", "x").stderr


def test_strace_prints_decoded_calls(akuma, guest):
    cp = akuma("run", "--strace", guest("hello"))
    assert cp.stdout == b"hello, world\n"
    err = cp.stderr.decode()
    assert 'writev(1, ' in err or 'write(1, "hello, world\\n", 13) = 13' in err
    assert "exit_group(0)" in err
    assert "set_tid_address(" in err


def test_strace_filter_and_errno_names(akuma, guest):
    cp = akuma("run", "--strace=openat,read", guest("syscalls"), "/tmp/akuma_strace_t")
    err = cp.stderr.decode()
    assert "= -1 ENOENT (No such file or directory)" in err
    assert "= -1 EBADF (Bad file descriptor)" in err
    assert "writev(" not in err and "exit_group" not in err


def test_volume_workdir_and_readonly(akuma, guest, tmp_path):
    shutil.copy(guest("hello"), tmp_path / "hello")
    (tmp_path / "hello").chmod(0o755)
    cp = akuma("run", "-v", f"{tmp_path}:/work", "-w", "/work", "--", "/work/hello")
    assert cp.returncode == 0 and cp.stdout == b"hello, world\n"
    cp = akuma("run", "-v", f"{tmp_path}:/work:ro", "-w", "/work", "--", "./hello")
    assert cp.returncode == 0 and cp.stdout == b"hello, world\n"


def test_guest_writes_reach_the_host_volume(akuma, guest, tmp_path):
    cp = akuma("run", "-v", f"{tmp_path}:/data", guest("syscalls"), "/data/file")
    assert cp.returncode == 0
    assert b"file write ret=16" in cp.stdout and b"unlink ret=0" in cp.stdout
    assert not (tmp_path / "file").exists()          # the program unlinked it


def test_readonly_volume_refuses_writes(akuma, guest, tmp_path):
    cp = akuma("run", "-v", f"{tmp_path}:/data:ro", guest("syscalls"), "/data/file")
    assert b"open ok" not in cp.stdout
    assert not (tmp_path / "file").exists()


def test_host_directory_as_root(akuma, guest, tmp_path):
    shutil.copy(guest("hello"), tmp_path / "hello")
    (tmp_path / "hello").chmod(0o755)
    cp = akuma("run", "-v", f"{tmp_path}:/", "--", "/hello")
    assert cp.returncode == 0 and cp.stdout == b"hello, world\n"


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_signal_interrupts_a_program_that_never_makes_a_syscall(guest, how):
    p = subprocess.Popen(AKUMA + ["run", guest("spin")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=_env())
    try:
        assert p.stdout.readline() == b"spinning\n"
        time.sleep(0.3)
        p.send_signal(getattr(signal, how))
        out, err = p.communicate(timeout=20)
    finally:
        p.kill()
    assert p.returncode == 128 + getattr(signal, how)
    assert b"Traceback" not in err


@pytest.mark.parametrize("seconds", ["100", "100000000000"])
def test_ctrl_c_ends_a_long_nanosleep(guest, seconds):
    """Also a sleep past what the host's poll takes as a timeout (it once
    ended akuma with an OverflowError)."""
    p = subprocess.Popen(AKUMA + ["run", guest("sleep"), seconds], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=_env())
    try:
        assert p.stdout.readline() == b"sleeping\n"
        time.sleep(0.3)                      # asleep in the idle wait
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)   # far less than the time asked for
    finally:
        p.kill()
    assert p.returncode == 130 and out == b"", err
    assert b"internal error" not in err


def test_short_nanosleep_completes(akuma, guest):
    got = akuma("run", guest("sleep"), "0")
    assert got.returncode == 0 and got.stdout == b"sleeping\nwoke\n"


def test_syscalls_listing(akuma):
    cp = akuma("syscalls")
    assert cp.returncode == 0
    lines = cp.stdout.decode().splitlines()
    assert any(line.split()[:2] == ["64", "write"] for line in lines)
    assert any("ENOSYS" in line for line in lines)


def test_host_ctrl_c_reaches_a_guest_handler(guest):
    p = subprocess.Popen(AKUMA + ["run", guest("pause")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=_env())
    try:
        assert p.stdout.readline() == b"waiting\n"
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
    finally:
        p.kill()
    assert out == b"caught\nafter pause\n"
    assert p.returncode == 5
