"""The kernel shell (`akuma run --kernel-shell`) with a script on stdin,
running Debian's busybox-static applets as real guest processes: pipes,
redirections, chaining, $?, background jobs, cd, exported variables, the
exit status, and the built-ins that report the kernel's state."""
import re
import shutil

import pytest

import debroot

APPLETS = ("cat", "wc", "ls", "true", "false", "sleep", "env", "grep", "tr", "sh")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A root with /bin/busybox and applet links (argv[0] picks the applet)."""
    try:
        deb = debroot.sysroot()
    except debroot.Unavailable as e:
        pytest.skip(f"Debian arm64 packages unavailable: {e}")
    r = tmp_path_factory.mktemp("kshroot")
    (r / "bin").mkdir()
    shutil.copy(deb / "bin" / "busybox", r / "bin" / "busybox")
    for a in APPLETS:
        (r / "bin" / a).symlink_to("busybox")
    return r


def ksh(akuma, root, script, *extra):
    got = akuma("run", "-v", f"{root}:/", "-e", "PATH=/bin", "--clean-env", *extra,
                "--kernel-shell", input=script.encode())
    assert b"Traceback" not in got.stderr, got.stderr.decode()
    return got


def test_pipeline_of_three_processes(akuma, root):
    got = ksh(akuma, root, "echo hi | cat | wc -c\n")
    assert got.stdout == b"3\n", got.stderr
    assert got.returncode == 0


def test_redirections_into_files_then_read_back(akuma, root):
    got = ksh(akuma, root, "echo one > /tmp/f; echo two >> /tmp/f; cat < /tmp/f\n"
                           "ls /nonexistent 2> /tmp/e; wc -l < /tmp/e\n"
                           "ls /nonexistent /bin/sh > /tmp/o 2>&1; cat /tmp/o\n"
                           "ls /nonexistent 2>&1 > /tmp/o2 | wc -l\n")
    lines = got.stdout.decode().splitlines()
    assert lines[:3] == ["one", "two", "1"], got.stderr
    assert lines[3].startswith("ls: /nonexistent") and lines[4] == "/bin/sh"
    assert lines[5] == "1"          # 2>&1 before >: errors go to the pipe
    assert got.stderr == b""


def test_chaining_and_status(akuma, root):
    got = ksh(akuma, root, "false || echo ok\ntrue && echo yes\nfalse; echo \"st=$?\"\n"
                           "true || echo never; false && echo never\n! false; echo neg=$?\n"
                           "sh -c 'exit 42'; echo ${?}\n")
    assert got.stdout == b"ok\nyes\nst=1\nneg=0\n42\n", got.stderr


def test_command_not_found_and_syntax_errors_are_messages(akuma, root):
    got = ksh(akuma, root, "nosuchprog arg\necho st=$?\necho a | | b\necho st=$?\n"
                           "/bin\necho st=$?\n")
    assert got.stdout == b"st=127\nst=2\nst=126\n"
    err = got.stderr.decode()
    assert "kshell: nosuchprog: command not found" in err
    assert "syntax error" in err


def test_quoting_and_variables(akuma, root):
    got = ksh(akuma, root, "X='a  b'\necho $X \"$X\" '$X' \\$X ${X}c\n"
                           "echo \"one  two\" 'three  four' | tr a-z A-Z\n")
    assert got.stdout == b"a b a  b $X $X a bc\nONE  TWO THREE  FOUR\n", got.stderr


def test_globbing_against_the_vfs(akuma, root):
    got = ksh(akuma, root, "cd /bin; echo c*; echo /bin/[ft]*; echo 'c*' zz*\n")
    assert got.stdout == b"cat\n/bin/false /bin/tr /bin/true\nc* zz*\n", got.stderr


def test_cd_pwd_and_children_inherit_the_directory(akuma, root):
    got = ksh(akuma, root, "pwd\ncd /tmp\npwd\necho x > here\nls /tmp\ncd /nope\necho st=$?\n"
                           "cd -\n", "-w", "/bin")
    assert got.stdout == b"/bin\n/tmp\nhere\nst=1\n/bin\n", got.stderr
    assert b"cd: /nope: No such file or directory" in got.stderr


def test_export_is_visible_to_children(akuma, root):
    got = ksh(akuma, root, "FOO=local; export BAR=exported\nenv | grep -c FOO=\n"
                           "env | grep BAR=\nONCE=1 env | grep ONCE=\nenv | grep -c ONCE=\n"
                           "unset BAR; env | grep -c BAR=\nexport FOO; sh -c 'echo $FOO'\n")
    assert got.stdout == b"0\nBAR=exported\nONCE=1\n0\n0\nlocal\n", got.stderr


def test_exit_status_of_the_shell(akuma, root):
    assert ksh(akuma, root, "echo bye\nexit 7\necho never\n").returncode == 7
    got = ksh(akuma, root, "false\n")
    assert got.returncode == 1          # end of input: the last status


def test_background_jobs_notice_and_wait(akuma, root):
    got = ksh(akuma, root, "sleep 1 &\necho started $!\nwait\necho waited $?\n"
                           "true &\nsleep 1\necho next\n")
    out = got.stdout.decode().splitlines()
    m = re.match(r"started (\d+)$", out[0])
    assert m and out[1:] == ["waited 0", "next"], got.stdout
    err = got.stderr.decode()
    assert f"[1] {m.group(1)}" in err
    assert re.search(r"\[1\]\+\s+Done\s+true", err), err


def test_kill_a_background_job(akuma, root):
    got = ksh(akuma, root, "sleep 30 &\nkill %1\nwait %1\necho st=$?\n")
    assert got.stdout == b"st=143\n", got.stderr


def test_builtins_in_pipelines_run_in_a_subshell(akuma, root):
    got = ksh(akuma, root, "pwd | cat\ncd /bin | cat\npwd\necho a b | wc -w\n", "-w", "/tmp")
    assert got.stdout == b"/tmp\n/tmp\n2\n", got.stderr


def test_ps_lists_the_shell_and_its_children(akuma, root):
    got = ksh(akuma, root, "sleep 5 &\nps\nkill %1\n")
    rows = [r.split() for r in got.stdout.decode().splitlines()]
    assert rows[0][:4] == ["PID", "PPID", "PGID", "STAT"]
    shell = [r for r in rows[1:] if r[5] == "kshell"]
    child = [r for r in rows[1:] if r[5:] == ["sleep", "5"]]
    assert shell and child, rows
    assert child[0][1] == shell[0][0]            # its parent is the shell
    assert child[0][2] == child[0][0]            # its own process group


def test_system_builtins_report_the_kernel(akuma, root):
    got = ksh(akuma, root, "free\nuname -a\nuname -m\nuptime\ndf /\nmount\n", "--mem", "64M")
    out = got.stdout.decode().splitlines()
    mem = out[1].split()
    assert mem[0] == "Mem:" and int(mem[1]) == 64 * 1024
    assert int(mem[2]) + int(mem[3]) == 64 * 1024 and int(mem[2]) > 0
    assert out[3] == "Linux akuma 6.6.0-akuma #1 SMP PREEMPT Akuma aarch64"
    assert out[4] == "aarch64"
    assert re.match(r" \d\d:\d\d:\d\d up 0:00:\d\d, 1 process$", out[5]), out[5]
    assert out[6].split()[:2] == ["Filesystem", "1K-blocks"]
    size, used, avail = map(int, out[7].split()[1:4])
    assert out[7].split()[-1] == "/" and size > 0 and used + avail <= size
    assert "proc on /proc type proc (rw)" in out


def test_help_lists_every_builtin(akuma, root):
    got = ksh(akuma, root, "help\n")
    for name in ("cd", "pwd", "export", "unset", "env", "exit", "echo", "ps", "kill", "free",
                 "df", "mount", "uname", "uptime", "help"):
        assert re.search(rf"^  {name}\s", got.stdout.decode(), re.M), name


def test_interactive_on_the_console_with_job_control(root):
    """On a terminal: a prompt, the terminal handed to each foreground job
    (cat reads it), ^Z stops a job, fg resumes it, ^C interrupts it."""
    pexpect = pytest.importorskip("pexpect")
    from harness import AKUMA, test_env
    c = pexpect.spawn(AKUMA[0], AKUMA[1:] + ["run", "-v", f"{root}:/", "-e", "PATH=/bin",
                                            "--kernel-shell"], env=test_env(), timeout=60)
    try:
        c.expect_exact("akuma:/# ")
        c.sendline("cat")
        c.sendline("hello")
        c.expect_exact("hello\r\nhello\r\n")      # the echo, then cat's copy
        c.sendcontrol("d")
        c.expect_exact("akuma:/# ")
        c.sendline("sh -c 'echo ready; exec sleep 100'")
        c.expect_exact("ready\r\n")
        c.sendcontrol("z")
        c.expect_exact("Stopped")
        c.expect_exact("akuma:/# ")
        c.sendline("fg")
        c.expect_exact("sh -c 'echo ready; exec sleep 100'\r\n")
        c.sendintr()
        c.expect_exact("akuma:/# ")
        c.sendline("echo st=$?")
        c.expect_exact("st=130\r\n")
        c.expect_exact("akuma:/# ")
        c.sendintr()                     # at the prompt: the line is dropped, the shell stays
        c.expect_exact("akuma:/# ")
        c.sendline("exit 4")
        c.expect(pexpect.EOF)
    finally:
        c.close()
    assert c.exitstatus == 4
