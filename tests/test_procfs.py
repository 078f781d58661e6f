"""/proc as programs read it: memory, the process's own maps and status,
mounts, /proc/self/exe, per-pid directories."""


def _cat(akuma, guest, *paths):
    got = akuma("run", guest("cat"), *paths)
    assert got.returncode == 0, got.stderr
    return got.stdout.decode()


def test_meminfo_is_the_guest_ram(akuma, guest):
    out = _cat(akuma, guest, "/proc/meminfo")
    fields = {line.split(":")[0]: int(line.split()[1]) for line in out.splitlines()}
    assert fields["MemTotal"] == 512 * 1024
    assert 0 < fields["MemFree"] < fields["MemTotal"]


def test_self_maps_status_and_exe(akuma, guest):
    exe = guest("cat")
    out = _cat(akuma, guest, "/proc/self/maps", "/proc/self/status", "/proc/self/cmdline")
    assert "r-xp" in out and exe in out and "[stack]" in out
    assert "Pid:\t1\n" in out and "PPid:\t0\n" in out and "VmRSS:" in out
    assert f"{exe}\0/proc/self/maps\0" in out
    exe_bytes = akuma("run", exe, "/proc/self/exe").stdout
    assert exe_bytes == open(exe, "rb").read()


def test_mounts_and_per_pid_directory(akuma, guest):
    out = _cat(akuma, guest, "/proc/mounts", "/proc/1/comm", "/proc/1/stat")
    assert "proc /proc proc" in out and "devtmpfs /dev devtmpfs" in out
    assert "\ncat" in out or out.startswith("cat")
    assert "1 (cat" in out
