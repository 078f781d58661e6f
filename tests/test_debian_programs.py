"""Unmodified Debian arm64 programs: busybox-static (static glibc), dash
(dynamic glibc through ld-linux-aarch64.so.1), and a dynamic musl program
through Debian's ld-musl-aarch64.so.1 — shell pipelines, fork/exec/wait,
pipes and exit statuses included."""
import shutil

import pytest

import debroot


@pytest.fixture(scope="module")
def root():
    try:
        return debroot.sysroot()
    except debroot.Unavailable as e:
        pytest.skip(f"Debian arm64 packages unavailable: {e}")


def _sh(akuma, root, shell, script):
    return akuma("run", "-v", f"{root}:/", "-e", "PATH=/bin", "--", *shell.split(), "-c",
                 script)


def test_dash_dynamic_glibc_pipelines(akuma, root):
    got = _sh(akuma, root, "/bin/dash",
              'busybox echo a b c | busybox tr a-z A-Z; x=$(busybox expr 3 + 4); echo "x=$x"; '
              'busybox false || echo "false=$?"; busybox sh -c "exit 3"; echo "sub=$?"')
    assert got.returncode == 0, got.stderr
    assert got.stdout == b"A B C\nx=7\nfalse=1\nsub=3\n"
    assert b"Traceback" not in got.stderr and b"rseq" not in got.stderr


def test_busybox_static_glibc_shell_and_tools(akuma, root):
    got = _sh(akuma, root, "/bin/busybox sh",
              "for i in 1 2 3; do echo $i; done | busybox sort -r; busybox uname -sm; "
              "echo data > /tmp/f; busybox cat /tmp/f /tmp/f | busybox wc -l; "
              "busybox ls /proc/self/ | busybox grep -cx maps; exit 4")
    assert got.returncode == 4, got.stderr
    assert got.stdout == b"3\n2\n1\nLinux aarch64\n2\n1\n"


def test_dynamic_musl_program_through_debian_loader(akuma, guest, root, tmp_path):
    import subprocess
    import sys
    exe = tmp_path / "hello-dyn"
    src = __import__("pathlib").Path(__file__).parent / "guest" / "hello.c"
    cp = subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "aarch64-linux-musl",
                         "-dynamic", "-O2", "-o", str(exe), str(src)],
                        capture_output=True)
    if cp.returncode != 0:
        pytest.skip(f"zig cannot link a dynamic musl program: {cp.stderr[-200:]!r}")
    shutil.copy(exe, root / "hello-dyn")
    got = akuma("run", "-v", f"{root}:/", "--", "/hello-dyn")
    assert got.returncode == 0, got.stderr
    assert got.stdout == b"hello, world\n"
