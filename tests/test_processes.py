"""fork/vfork/clone, execve, wait4, signals on real frames, and pthreads:
guest programs compared with qemu-aarch64-static where qemu behaves like
Linux, and with Linux semantics written out where it does not (qemu-user
cannot exec another AArch64 program without binfmt_misc, and runs vfork as
fork)."""
from harness import test_env as _env


def _lines(cp):
    return cp.stdout.decode().splitlines()


def _lines_without(cp, prefix):
    """``cp``'s lines but those starting with ``prefix`` (a known quirk of
    qemu-user, checked apart)."""
    return [ln for ln in _lines(cp) if not ln.startswith(prefix)]


def test_fork_wait_cow_and_signals_to_children(guest, qemu, akuma):
    exe = guest("fork")
    got = akuma("run", exe)
    ref = qemu(exe, env=_env())
    assert got.returncode == 0, got.stderr
    # Linux: a vfork child shares memory until it exits (qemu-user forks).
    assert "vfork: status=7 shared=2" in _lines(got)
    assert [line for line in _lines(got) if not line.startswith("vfork")] == \
        [line for line in _lines(ref) if not line.startswith("vfork")]
    assert "parent memory intact=1" in _lines(got)
    assert "no children: ret=-1 errno=10" in _lines(got)            # ECHILD


def test_execve_argv_env_cloexec_and_failure(guest, akuma):
    exe = guest("exec")
    got = akuma("run", exe)
    assert got.returncode == 0, got.stderr
    assert _lines(got) == [
        "failed exec: ret=-1 errno=2",
        f"child argv: [{exe}] [child] [two words] []",
        "child env: AKUMA_EXEC=1",
        "child fd3=open fd4=closed",
        "exec child status=42",
    ]


def test_signal_frames_masks_and_restart(guest, qemu, akuma):
    exe = guest("signals")
    got = akuma("run", exe)
    ref = qemu(exe, env=_env())
    assert got.returncode == 0, got.stderr
    assert got.stdout == ref.stdout
    assert "usr1: sig=10 code=0 from_self=1 fp_kept=1" in _lines(got)
    assert "sigsuspend: ret=-1 errno=4 got=10 still_blocked=1" in _lines(got)


def test_pthreads_mutex_condvar_tls_join(guest, qemu, akuma):
    exe = guest("threads")
    got = akuma("run", exe)
    assert got.returncode == 0, got.stderr
    assert got.stdout == qemu(exe, env=_env()).stdout
    assert got.stdout == b"counter=80000 atomic=80000 tls_sum=606 main_tls=0\n"


def test_timers_accounting_credentials_sessions(guest, akuma):
    got = akuma("run", guest("procmisc"))
    assert got.returncode == 0, got.stderr
    # The first process is a session and group leader (like init, or a
    # program started with setsid(1)); its child drops root for good.
    assert got.stdout.decode().splitlines() == [
        "itimer real: alarms>=3=1 interval_us=20000",
        "alarm(0) returns 0",
        "itimer virtual fired=1",
        "rusage utime>=20ms=1",
        "times ok=1",
        "pid==pgid==sid: 1",
        "setsid as leader: -1 errno=1",
        "child setsid==pid: 1 sid=pgid=1",
        "dropped: uid=1000 euid=1000 gid=1000",
        "regain root: -1 errno=1",
        "setgroups unprivileged: -1 errno=1",
        "child status=0",
        "children rusage ok",
    ]


def test_shebang_scripts_build_argv_like_linux(guest, akuma, tmp_path):
    import shutil
    shutil.copy(guest("args"), tmp_path / "args")
    (tmp_path / "args").chmod(0o755)
    (tmp_path / "script").write_bytes(f"#!{tmp_path}/args  one arg \nbody\n".encode())
    (tmp_path / "script2").write_bytes(f"#!{tmp_path}/script\n".encode())
    (tmp_path / "loop").write_bytes(f"#!{tmp_path}/loop\n".encode())
    for name in ("script", "script2", "loop"):
        (tmp_path / name).chmod(0o755)
    got = akuma("run", "-v", f"{tmp_path}:{tmp_path}", "-w", str(tmp_path), "--",
                "./script2", "x", env=_env(ARGS_QUIET_ENV="1"))
    assert got.returncode == 0, got.stderr
    assert _lines(got)[:6] == ["argc=5", f"argv[0]={tmp_path}/args", "argv[1]=one arg",
                               f"argv[2]={tmp_path}/script", "argv[3]=./script2", "argv[4]=x"]
    assert "AT_EXECFN=./script2" in _lines(got)
    loop = akuma("run", "-v", f"{tmp_path}:{tmp_path}", "--", f"{tmp_path}/loop")
    assert loop.returncode == 126
    assert b"too many levels" in loop.stderr


def test_job_control_rt_queues_sigtimedwait_nesting_storm(guest, qemu, akuma):
    exe = guest("sigadv")
    got = akuma("run", exe)
    assert got.returncode == 0, got.stderr
    assert got.stdout == qemu(exe, env=_env()).stdout
    lines = _lines(got)
    assert lines[:3] == ["stopped=1 sig=19", "continued=1", "exited=1 status=5"]
    assert "storm=100" in lines and "nested=111" in lines


def test_rwlock_barrier_detach_cancel_and_sa_restart(guest, qemu, akuma):
    exe = guest("threads2")
    got = akuma("run", exe)
    assert got.returncode == 0, got.stderr
    assert got.stdout == qemu(exe, env=_env()).stdout
    assert _lines(got) == ["rwlock: value=4000 reads_ok=4000", "detached ran=1", "cancelled=1",
                           "restarted read: ret=1 char=z"]


def test_thousand_processes_and_thread_churn(guest, akuma):
    exe = guest("procbench")
    for mode, n in (("fork", "1000"), ("threads", "500"), ("futex", "2000"),
                    ("pingpong", "2000"), ("exec", "50")):
        got = akuma("run", exe, mode, n)
        assert got.returncode == 0, (mode, got.stderr)
        assert got.stdout == f"{mode} {n} done\n".encode()


def test_clone_fs_unshare_and_system_time(guest, akuma):
    # Written from Linux semantics: qemu-user runs a non-VM clone as fork()
    # and cannot share the fs context.
    got = akuma("run", guest("proc_fsshare"))
    assert got.returncode == 0, got.stderr
    assert _lines(got) == [
        "plain clone: status=0 cwd_changed=0 umask=022",
        "CLONE_FS: status=0 cwd_changed=1 umask=077",
        "unshare(CLONE_FS): status=0 cwd_changed=0 umask=022",
        "unshare(bogus): ret=-1 errno=22",
        "rusage: stime>0=1",
        "times: fields>=0=1",
    ]


def test_blocking_pipe_writes_take_every_byte(guest, qemu, akuma):
    exe = guest("pipe_bigwrite")
    got = akuma("run", exe)
    assert got.returncode == 0, got.stderr
    assert got.stdout == qemu(exe, env=_env()).stdout
    assert "write: ret=1048576 writev: ret=400005" in _lines(got)
    assert "interrupted write (SA_RESTART): ret=65536 errno=0" in _lines(got)


def test_nice_survives_fork_and_exec_and_rlimit_nice(guest, akuma):
    # `nice -n 5 CMD`: nice(5), then exec.  Linux's answers, written out:
    # qemu-user cannot exec another AArch64 program and fakes the fields of
    # /proc/self/stat; raising RLIMIT_NICE's hard limit needs CAP_SYS_RESOURCE,
    # which a container's root may lack.  /proc/<pid>/stat fields 18 and 19
    # are the priority (20 + nice) and the nice value.
    got = akuma("run", guest("xattr_prio"), "nice")
    assert got.returncode == 0, got.stderr
    assert _lines(got) == [
        "start: nice=0 stat priority=20 nice=0",
        "nice(5): 5",
        "after nice: nice=5 stat priority=25 nice=5",
        "forked child: nice=5 stat priority=25 nice=5",
        "C RLIMIT_NICE 25: 0",
        "C drop root: 0",
        "C self set -5: 0",                 # 20 - (-5) <= RLIMIT_NICE
        "C self set -6: -1 EACCES",
        "C nice(1): -4 OK",
        "C nice(-1): -5 OK",
        "C nice(-1) again: -1 EPERM",       # libc turns EACCES into EPERM
        "C self get: 25",
        "C status: 0",
        "after exec: nice=5 stat priority=25 nice=5",
    ]


def test_posix_timers_match_linux(guest, qemu, akuma):
    exe = guest("posix_timers")
    got = akuma("run", exe)
    ref = qemu(exe, env=_env())
    assert got.returncode == 0, got.stderr
    # qemu-user passes sigev_value 0 for a NULL sigevent; Linux (and akuma)
    # the timer id.
    quirk = "NULL sigevent value==timerid="
    assert quirk + "1" in _lines(got)
    assert _lines_without(got, quirk) == _lines_without(ref, quirk)
    lines = _lines(got)
    assert "periodic: hits>=3=1 signo=1 code=-2 value=4242 timerid_stable=1" in lines
    assert "overrun: pending=1 getoverrun_before=0 deliveries=1 si_overrun>0=1 " \
           "getoverrun==si_overrun=1" in lines
    assert "thread got it: sig_ok=1 code=-2 value=77 main_pending=0" in lines
    assert "process cputime fired=1" in lines and "thread cputime fired=1" in lines
    assert "child: gettime=22 settime=22 getoverrun=-22 delete=22" in lines
    assert lines[-1] == "timeout: interrupted=1 timed_out=1 status=124"


def test_posix_timers_do_not_survive_exec(guest, akuma):
    got = akuma("run", guest("posix_timers"), "exec")
    assert got.returncode == 0, got.stderr
    assert _lines(got) == [
        "before exec: id=0",
        "after exec: gettime=22 settime=22 delete=22",
        "after exec: create=0 new_id_is_next=1",    # the id counter is the process's
    ]


def test_cpu_time_clocks_count_the_guests_own_time(guest, qemu, akuma):
    """They read the host thread's CPU time before: every process's, and
    the kernel's own work."""
    exe = guest("cpuclock")
    ref = qemu(exe, env=_env())
    got = akuma("run", exe)
    assert got.returncode == ref.returncode == 0, got.stderr
    assert got.stdout == ref.stdout
    assert "child's loop not counted: 1" in _lines(got)


def test_sched_policy_caps_mlock_mincore_membarrier_ioprio(guest, qemu, akuma):
    # qemu-user passes these calls to the host kernel; the program prints
    # only host-independent facts (see tests/guest/sched_caps.c) and needs
    # root with CAP_SYS_NICE and CAP_IPC_LOCK on the host, as akuma's root has.
    import os
    exe = guest("sched_caps")
    got = akuma("run", exe)
    assert got.returncode == 0, got.stderr
    lines = _lines(got)
    assert "set FIFO without sys_nice: ret=-1 errno=1" in lines
    assert "resident: 1 0 1 0" in lines
    assert "rr slice: 0.100000000" in lines
    assert "membarrier query has ours: 1" in lines
    # qemu 7.2 has no mlock2 (ENOSYS): those two lines are written out.
    assert "mlock2 bad flags: ret=-1 errno=22" in lines
    assert "mlock2 onfault: ret=0 errno=0" in lines
    if os.geteuid() != 0:
        return
    ref = qemu(exe, env=_env())
    assert ref.returncode == 0
    assert _lines_without(got, "mlock2") == _lines_without(ref, "mlock2")


def test_pipe_fast_read_write_match_linux(guest, qemu, akuma):
    """read(2)/write(2) on pipe(2) pipes are answered in C unless something
    is unusual; every unusual case must end as on Linux.  Compared with
    qemu line by line, except the "short read" lines: 10 bytes in the pipe
    read into a buffer whose second page is unmapped.  Linux copies what
    the pipe holds and returns 10; qemu-user checks the whole buffer before
    the call and says EFAULT, so those two are written out."""
    exe = guest("pipe_fast")
    got = akuma("run", exe)
    ref = qemu(exe, env=_env())
    assert got.returncode == ref.returncode == 0, got.stderr
    quirk = "short read"
    lines = _lines(got)
    assert _lines_without(got, quirk) == _lines_without(ref, quirk)
    assert [ln for ln in lines if ln.startswith(quirk)] == [
        "short read, 2nd page unmapped: 10 fionread=0 '0123456789'",
        "short read into a file page, 2nd page unmapped: 10 fionread=0 '0123456789'",
    ]
    assert len([ln for ln in _lines(ref) if ln.startswith(quirk)]) == 2
    assert lines[0].startswith("ring O_NONBLOCK: written=4105792 read=4105792 fionread_ok=1 "
                               "bad=0 miscounts=0 short_writes=0 eagain=0")
    assert "ping-pong: rounds=10000 parent_bad=0 child_status=0" in lines
    assert "read fd 1<<32|r: 5" in lines
    assert "read into unmapped page: -1 EFAULT fionread=10 then 10 '0123456789'" in lines
    assert "resize: read back 50000 bad=0 then -1 EAGAIN" in lines
    assert lines[-1] == "done"


def test_tlb_slots_keep_address_spaces_isolated(guest, qemu, akuma):
    """Two TLBs keep two page tables' translations across switches: two
    and three processes taking turns over the same addresses (globals,
    heap, stack), copy-on-write with a cached translation (including a
    read(2) into a shared page), a page remapped at a fixed address, a
    MAP_SHARED page, a shared file shrunk by the other process, and
    short-lived children; each must only ever see its own memory."""
    exe = guest("tlb_slots")
    got = akuma("run", exe)
    ref = qemu(exe, env=_env())
    assert got.returncode == ref.returncode == 0, got.stderr
    assert got.stdout == ref.stdout
    assert _lines(got)[-1] == "tlb_slots: all ok"
    assert not [ln for ln in _lines(got) if "BAD" in ln]
