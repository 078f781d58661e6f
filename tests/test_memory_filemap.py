"""File mappings (memfd, MAP_SHARED coherence, msync, SIGBUS past EOF,
MAP_PRIVATE copy-on-write over a file), output compared with
qemu-aarch64-static on the host kernel."""
from harness import exit_code, test_env as _env


def test_memfd_and_tmpfs_file_mappings_match_qemu(guest, qemu, akuma, tmp_path):
    exe = guest("mm_filemap")
    ref = qemu(exe, str(tmp_path), env=_env())
    got = akuma("run", exe, "/tmp")
    assert exit_code(ref) == 0
    assert b"Traceback" not in got.stderr
    assert got.stdout == ref.stdout
    assert exit_code(got) == 0
    assert b"SIGBUS code 2" in got.stdout      # BUS_ADRERR, past EOF


def test_host_directory_file_mappings_match_qemu(guest, qemu, akuma, tmp_path):
    exe = guest("mm_filemap")
    ref_dir, vol = tmp_path / "ref", tmp_path / "vol"
    ref_dir.mkdir()
    vol.mkdir()
    ref = qemu(exe, str(ref_dir), env=_env())
    got = akuma("run", "-v", f"{vol}:/vol", exe, "/vol")
    assert got.stdout == ref.stdout
    assert exit_code(got) == exit_code(ref) == 0
    assert not (vol / "mm_filemap.dat").exists()    # the program unlinks it


def test_code_rewritten_with_write_runs_anew(guest, akuma):
    """pwrite(2) into a page the CPU executes from (a memfd, a /tmp file
    mapped shared): the kernel's write bypasses unicorn's code tracking, so
    the page's translated blocks must be dropped.  Expected output from
    Linux on hardware: qemu-user itself gets this wrong (it keeps running
    its old translation of the page, "then 42"), so it is no reference."""
    got = akuma("run", guest("code_rewrite"))
    assert got.returncode == 0, got.stderr
    assert got.stdout == b"memfd: 42 42 then 7\ntmp file: 42 42 then 7\n"
