"""Demand paging that needs the kernel's pager: ELF segments of a large
binary paged in lazily, the main stack and MAP_GROWSDOWN mappings growing
on faults up to RLIMIT_STACK."""
from harness import exit_code, test_env as _env


def test_large_binary_starts_without_being_read_whole(guest, qemu, akuma):
    exe = guest("mm_bigbin")          # 48 MiB of initialized data
    ref = qemu(exe, env=_env())
    got = akuma("run", exe, "rss")
    assert exit_code(got) == exit_code(ref) == 0
    lines = got.stdout.decode().splitlines()
    assert lines[:3] == ref.stdout.decode().splitlines()
    rss_kb = int(lines[3].split()[3])
    assert 0 < rss_kb < 4096, lines[3]     # a few pages, not 48 MiB


def test_stack_grows_below_its_extent_and_stops_at_rlimit(guest, qemu, akuma):
    exe = guest("mm_stack")
    for args, status in (((), 0), (("deep",), 3)):
        ref = qemu(exe, *args, env=_env())
        got = akuma("run", exe, *args)
        assert got.stdout == ref.stdout
        assert exit_code(got) == exit_code(ref) == status
    assert b"SIGSEGV after about" in got.stdout
