"""Filesystem benchmarks: the same busybox commands in akuma (on an ext2
root image) and under qemu-aarch64-static (on a host tmpfs), in one run,
printed as a table of seconds and ratios (akuma / qemu).

    dd write / read   sequential, bs=1M (MB/s shown; issue 5's target is 300)
    small files       create, stat (ls -l) and remove N files in a shell loop
    tar x             busybox tar extracting a tree

Start-up is measured once per runner (`true`) and subtracted.  Sizes are
small by default so CI stays quick; AKUMA_BENCH_FULL=1 gives 256 MiB for
dd, 10,000 files and a 50 MB tar."""
import os
import shutil
import sys
import subprocess
import tarfile
import tempfile
import time

import pytest

from workloads import ENV, guestlib

FULL = os.environ.get("AKUMA_BENCH_FULL") == "1"
DD_MB = 256 if FULL else 32
NFILES = 10_000 if FULL else 1_000
TAR_MB = 50 if FULL else 8
AKUMA = [sys.executable, "-m", "akuma.cli.main", "run"]


@pytest.fixture(scope="module")
def sysroot():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    import debroot
    try:
        return debroot.sysroot()
    except debroot.Unavailable as e:
        pytest.skip(f"Debian arm64 packages unavailable: {e}")


@pytest.fixture(scope="module")
def work():
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    d = tempfile.mkdtemp(prefix="akuma-bench-vfs-", dir=base)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _timed(cmd):
    t0 = time.perf_counter()
    cp = subprocess.run(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    assert cp.returncode == 0, (cmd, cp.stderr[-2000:])
    return elapsed


class Runners:
    """akuma on an ext2 image holding busybox; qemu on a host tmpfs dir."""

    def __init__(self, sysroot, work):
        if not shutil.which("mke2fs"):
            pytest.skip("mke2fs (e2fsprogs) is not installed")
        if not guestlib.qemu_path():
            pytest.skip("qemu-aarch64-static is not installed")
        self.busybox = str(sysroot / "bin" / "busybox")
        self.work = work
        self.qdir = os.path.join(work, "q")
        os.makedirs(self.qdir, exist_ok=True)
        self.img = os.path.join(work, "root.img")
        size = (DD_MB + TAR_MB * 2 + 128) << 20
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-d", str(sysroot), self.img,
                        str(size // 1024)], check=True, capture_output=True)

    def akuma(self, script, volume=None):
        cmd = AKUMA + ["--image", self.img, "-e", "PATH=/bin"]
        if volume:
            cmd += ["-v", f"{volume}:/src:ro"]
        return _timed(cmd + ["--", "/bin/busybox", "sh", "-c", f"cd /tmp2 && {script}"])


@pytest.fixture(scope="module")
def runners(sysroot, work):
    r = Runners(sysroot, work)
    # /tmp2 on the image: a plain ext2 directory (akuma's /tmp is a memfs).
    subprocess.run(AKUMA + ["--image", r.img, "--", "/bin/busybox", "mkdir", "-p", "/tmp2"],
                   env=ENV, check=True, capture_output=True)
    return r


def _report(name, a, q, extra=""):
    print(f"\n{name:34s} akuma {a:8.3f}s  qemu {q:8.3f}s  ratio {a / q:6.2f} {extra}")


def _pair(runners, script, volume=None):
    bb = runners.busybox
    a0 = runners.akuma("true")
    a = runners.akuma(script.replace("BB ", "busybox "), volume) - a0
    q0 = _timed([guestlib.qemu_path(), bb, "true"])
    q = _timed([guestlib.qemu_path(), bb, "sh", "-c",
                # no binfmt_misc: applets by bare name run inside busybox (standalone shell)
                f"cd {runners.qdir} && " + script.replace("BB ", "")
                .replace("/src/", (volume or "") + "/")]) - q0
    return max(a, 1e-6), max(q, 1e-6)


def test_dd_sequential(runners):
    w = f"BB dd if=/dev/zero of=big bs=1M count={DD_MB} 2>/dev/null"
    aw, qw = _pair(runners, w + " && BB rm big")
    # the read on its own (a difference of two runs was mostly noise): the
    # file is written by an untimed run, read by a timed one, removed after
    _pair(runners, w)
    ar, qr = _pair(runners, "BB dd if=big of=/dev/null bs=1M 2>/dev/null")
    _pair(runners, "BB rm big")
    _report(f"dd write {DD_MB} MiB", aw, qw, f"akuma {DD_MB / aw:7.0f} MB/s")
    _report(f"dd read {DD_MB} MiB", ar, qr, f"akuma {DD_MB / ar:7.0f} MB/s")


def test_small_files(runners):
    script = (f"BB mkdir d && cd d && i=0; while [ $i -lt {NFILES} ]; do : > f$i; "
              f"i=$((i+1)); done; BB ls -l | BB wc -l; cd .. && BB rm -r d")
    a, q = _pair(runners, script)
    _report(f"create+stat+remove {NFILES} files", a, q)


def test_tar_extract(runners, work):
    src = os.path.join(work, "tarsrc")
    tarball = os.path.join(work, "tree.tar")
    if not os.path.exists(tarball):
        rnd = os.urandom(1 << 20)
        per_dir, size = 50, 100 << 10
        n = (TAR_MB << 20) // size
        for i in range(n):
            d = os.path.join(src, f"d{i // per_dir}")
            os.makedirs(d, exist_ok=True)
            off = (i * 4099) % ((1 << 20) - size)
            with open(os.path.join(d, f"f{i}"), "wb") as f:
                f.write(rnd[off:off + size])
        with tarfile.open(tarball, "w") as t:
            t.add(src, arcname="tree")
    a, q = _pair(runners, "BB tar xf /src/tree.tar && BB rm -r tree", volume=work)
    _report(f"tar x {TAR_MB} MB", a, q)
