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
