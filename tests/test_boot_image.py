"""Booting a system image with `akuma`: commands with -c, poweroff through
busybox init, what persists on the image, and --snapshot."""
import hashlib
import shutil
import subprocess

import pytest

import sysimage
from harness import run_akuma, test_env


@pytest.fixture
def image(tmp_path):
    return sysimage.fresh_copy(tmp_path / "root.img")


def boot(image, *args, input=None, timeout=300):
    return run_akuma("-q", "--image", image, *args, input=input, timeout=timeout,
                     env=test_env(TERM="dumb"))


def sh(image, command, *args):
    got = boot(image, *args, "-c", command)
    return got.returncode, got.stdout.decode(), got.stderr.decode()


def fsck_clean(image):
    if not shutil.which("e2fsck"):
        return
    cp = subprocess.run(["e2fsck", "-fn", image], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stdout + cp.stderr


def test_system_commands(image):
    rc, out, err = sh(image, "ls /bin | wc -l; uname -a; free; df; mount; id -un; pwd; "
                             "hostname")
    assert rc == 0, err
    lines = out.splitlines()
    assert int(lines[0]) > 100
    assert lines[1].startswith("Linux akuma ") and "aarch64" in lines[1]
    assert any(line.startswith("Mem:") for line in lines)
    assert any(line.split()[-1:] == ["/"] and "%" in line for line in lines)  # df
    assert any(" on /proc type proc" in line for line in lines)               # mount
    assert any(" on /tmp type tmpfs" in line for line in lines)
    assert lines[-3:] == ["root", "/root", "akuma"]


def test_exit_status_of_the_command(image):
    assert sh(image, "exit 7")[0] == 7
    assert sh(image, "kill -TERM $$")[0] == 128 + 15


def test_sqlite3(image):
    rc, out, err = sh(image, "cd /tmp && sqlite3 db 'create table t(x); insert into t "
                             "values(1); select * from t'")
    assert (rc, out) == (0, "1\n"), err


def test_git(image):
    rc, out, err = sh(image, "mkdir /tmp/r && cd /tmp/r && echo hi > f && git init -q && "
                             "git add . && git commit -q -m x && git log --format=%s%n%an")
    assert (rc, out) == (0, "x\nroot\n"), err


def test_tcc(image):
    rc, out, err = sh(image, "cd /tmp && printf '#include <stdio.h>\\nint main(){puts(\"hi\");"
                             "return 3;}\\n' > a.c && tcc -run a.c; echo $?; "
                             "tcc -o hello a.c && ./hello; echo $?")
    assert (rc, out) == (0, "hi\n3\nhi\n3\n"), err


def test_coreutils_timeout(image):
    # GNU timeout(1) arms a POSIX timer (timer_create on CLOCK_REALTIME,
    # SIGALRM) and kills the command when it fires: 124.
    rc, out, err = sh(image, "timeout 1 sleep 3; echo $?; timeout 3 true; echo $?")
    assert (rc, out) == (0, "124\n0\n"), err
    assert "unsupported" not in err


def test_poweroff_flushes_and_files_persist(image):
    got = boot(image, input=b"echo kept > /root/note && mkdir /home/user/d && "
                            b"seq 1000 > /home/user/d/n\npoweroff\n")
    assert got.returncode == 0, got.stderr
    fsck_clean(image)
    rc, out, err = sh(image, "cat /root/note && wc -l < /home/user/d/n")
    assert (rc, out) == (0, "kept\n1000\n"), err
    fsck_clean(image)


def test_named_pipe_on_ext2(image):
    rc, out, err = sh(image, "mkfifo /root/f && ls -l /root/f | cut -c1 && "
                             "(echo through-the-fifo > /root/f &) && cat /root/f && rm /root/f")
    assert (rc, out) == (0, "p\nthrough-the-fifo\n"), err
    fsck_clean(image)


def test_init_ignores_signals_it_does_not_handle(image):
    """Linux's rule for init: SIGKILL, SIGSTOP and unhandled signals are
    dropped (they killed pid 1 here, and a second `poweroff` arriving while
    busybox init ran its shutdown actions with default handlers did too)."""
    got = boot(image, input=b"kill -9 1; kill -SEGV 1; kill -STOP 1; kill -USR2 1; "
                            b"echo init-alive\npoweroff\n")
    assert got.returncode == 0, got.stderr
    assert b"init-alive\n" in got.stdout
    assert b"init exited" not in got.stderr
    fsck_clean(image)


@pytest.mark.parametrize("command", ["reboot", "halt"])
def test_reboot_and_halt_end_the_session(image, command):
    got = boot(image, input=command.encode() + b"\n")
    assert got.returncode == 0, got.stderr
    fsck_clean(image)


def test_leaving_the_console_shell_powers_off(image):
    got = boot(image, input=b"echo bye\n")
    assert got.returncode == 0, got.stderr
    assert b"bye\n" in got.stdout
    fsck_clean(image)


def test_boot_log_unless_quiet(image):
    got = run_akuma("--image", image, "-c", "true", env=test_env())
    assert got.returncode == 0
    log = got.stderr.decode()
    assert "root: " in log and "started" in log and "disks flushed" in log


def test_snapshot_leaves_the_image_unchanged(image):
    before = hashlib.sha256(open(image, "rb").read()).hexdigest()
    rc, out, err = sh(image, "echo x > /root/scratch && rm -r /usr/share/doc && "
                             "cat /root/scratch", "--snapshot")
    assert (rc, out) == (0, "x\n"), err
    assert hashlib.sha256(open(image, "rb").read()).hexdigest() == before
    rc, out, _ = sh(image, "ls /root/scratch 2>/dev/null; ls -d /usr/share/doc")
    assert out == "/usr/share/doc\n"


def test_missing_image_is_one_line(tmp_path):
    got = run_akuma("--image", str(tmp_path / "nope.img"), "-c", "true", env=test_env())
    assert got.returncode == 125
    assert got.stderr.decode().count("\n") == 1 and b"no such image" in got.stderr


def test_reboot_syscall_checks_privilege_and_magic(image):
    # An unprivileged caller gets EPERM (busybox reports it and stays up).
    rc, out, err = sh(image, "su user -c 'reboot -f'; echo $?")
    assert out.endswith("1\n") and "Operation not permitted" in err, (out, err)
    # Bad magic numbers are EINVAL; CAD on/off is accepted.
    rc, out, err = sh(image, "cd /tmp && cat > r.c <<'E'\n"
                             "#include <stdio.h>\n#include <errno.h>\n#include <unistd.h>\n"
                             "int main(){\n"
                             " long a = syscall(142, 0xfee1deadL, 1L, 0x4321fedcL, 0L);\n"
                             " printf(\"%ld %d\\n\", a, errno);\n"
                             " printf(\"%ld\\n\", syscall(142, 0xfee1deadL, 0x28121969L, 0L, 0L));\n"
                             " return 0; }\nE\ntcc -run r.c")
    assert (rc, out) == (0, "-1 22\n0\n"), err


def test_shell_loop_with_command_substitution(image):
    # A SIGCHLD arriving after a woken read had completed used to turn an
    # arbitrary instruction into an EINTR return (dash crashed).
    rc, out, err = sh(image, "n=0; for i in $(seq 100); do /bin/true; n=$((n+1)); done; "
                             "echo $n")
    assert (rc, out) == (0, "100\n"), err


def test_kernel_shell_on_the_booted_image(image):
    # --kernel-shell replaces /sbin/init with the kernel's own shell on the
    # console: a script on stdin, its exit status akuma's.
    got = boot(image, "--kernel-shell",
               input=b"pwd\nls /bin | wc -l\necho $HOME > /tmp/h; cat /tmp/h\nfalse || exit 5\n")
    assert got.returncode == 5, got.stderr
    lines = got.stdout.decode().splitlines()
    assert lines[0] == "/root"
    assert int(lines[1]) > 100
    assert lines[2] == "/root"
    fsck_clean(image)


def test_top_reads_proc_stat(image):
    rc, out, err = sh(image, "top -b -n 1 | head -4; head -1 /proc/stat")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Mem:") and lines[1].startswith("CPU:")
    fields = lines[-1].split()
    assert fields[0] == "cpu" and all(f.isdigit() for f in fields[1:]) and len(fields) == 11


def test_dev_fd_and_proc_fd_magic_links(image):
    # /dev/stdin, /dev/stdout and /dev/fd/N reach the open object itself (a
    # pipe, akuma's own stdout) as Linux's magic links do; the $(...)
    # subshell is a forked glibc dash taking SIGCHLD on the parent's sigpage.
    rc, out, err = sh(image, "echo piped | cat /dev/stdin; echo to-stdout > /dev/stdout; "
                             "x=$(echo sub | cat /dev/fd/0); echo $x; "
                             "readlink /proc/self/fd/0; readlink /proc/self/exe; "
                             "ls -ld /dev/shm | cut -c1-10; ls /proc/$$/fd | head -3")
    assert rc == 0, err
    assert "internal error" not in err
    assert out.splitlines() == ["piped", "to-stdout", "sub", "/dev/console", "/usr/bin/readlink",
                                "drwxrwxrwt", "0", "1", "2"]
