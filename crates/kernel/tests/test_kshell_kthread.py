"""The kernel shell as a kernel thread inside a Kernel built here (a memfs
root, /proc, kernel pipes as its stdin/stdout/stderr): it is a process
with /proc entries, its built-ins run in kernel-thread subshells inside
pipelines, and guest programs it starts report their status through $?."""
import io
import os
import sys

import pytest

from akuma.abi import fcntl as F
from akuma.kernel import Kernel, wait_status_to_exit_code
from akuma.kernel.kshell import start_kernel_shell
from akuma.kernel.pipe import Pipe, PipeEnd
from akuma.vfs import MemFs, ProcFs, Vfs

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests"))
import guestlib  # noqa: E402


def _kernel(programs=()):
    vfs = Vfs()
    vfs.mount(b"/", MemFs())
    for d in (b"/tmp", b"/bin", b"/proc"):
        vfs.mkdir(d)
    vfs.mount(b"/proc", ProcFs(lambda: b""))
    for name, path in programs:
        f = vfs.open(b"/bin/" + name, F.O_WRONLY | F.O_CREAT, 0o755)
        f.write(open(path, "rb").read())
        f.close()
    return Kernel(vfs, mem=32 << 20, log=io.StringIO())


def _pipe(k, data=None):
    """(our end, the shell's end): input already written and closed, or an
    output pipe large enough to hold everything the script prints."""
    p = Pipe(k.sched)
    p.capacity = 1 << 20
    if data is not None:
        r, w = PipeEnd(p, False), PipeEnd(p, True)
        w.write(data)
        w.close()
        return None, r
    return PipeEnd(p, False), PipeEnd(p, True)


def run_script(script, programs=(), env=(b"PATH=/bin", b"HOME=/tmp")):
    k = _kernel(programs)
    _, stdin = _pipe(k, script.encode())
    out_r, out_w = _pipe(k)
    err_r, err_w = _pipe(k)
    proc = start_kernel_shell(k, [stdin, out_w, err_w], list(env))
    status = wait_status_to_exit_code(k.run(until=proc))
    return out_r.pipe.peek().decode(), err_r.pipe.peek().decode(), status, k


def test_builtins_and_exit_status():
    out, err, status, _ = run_script("echo hello 'wor  ld'\ncd; pwd\nexit 3\necho never\n")
    assert (out, err, status) == ("hello wor  ld\n/tmp\n", "", 3)


def test_end_of_input_exits_with_the_last_status():
    out, err, status, _ = run_script("cd /nonexistent\n")
    assert status == 1 and "cd: /nonexistent: No such file or directory" in err


def test_globbing_reads_the_memfs():
    out, _, _, _ = run_script("echo a > /tmp/x.txt; echo b > /tmp/y.txt; echo c > /tmp/z.log\n"
                              "echo /tmp/*.txt; cd /tmp; echo *.log [xz]*\n")
    assert out == "/tmp/x.txt /tmp/y.txt\nz.log x.txt z.log\n"


def test_builtins_in_a_pipeline_are_kernel_thread_children():
    out, _, status, k = run_script("echo x | ps\n")
    rows = [r.split() for r in out.splitlines()[1:]]
    shell = next(r for r in rows if r[5] == "kshell")
    ps = next(r for r in rows if r[5] == "ps")
    # pids in order: the shell 1, echo 2, ps 3; the job's group is echo's pid.
    assert (shell[0], ps[0], ps[1], ps[2]) == ("1", "3", "1", "2")
    assert status == 0
    # Everything the shell started was reaped.
    assert [p.comm for p in k.processes.values()] == [b"kshell"]


def test_redirection_of_a_builtin_then_read_back_via_memfs():
    out, _, _, k = run_script("echo one > /tmp/f\necho two >> /tmp/f\nuname -s 2>&1 >> /tmp/f\n")
    f = k.vfs.open(b"/tmp/f", F.O_RDONLY)
    assert f.read(100) == b"one\ntwo\nLinux\n" and out == ""


@pytest.fixture(scope="module")
def guests():
    if not guestlib.zig_available():
        pytest.skip("ziglang is not installed (pip install ziglang)")
    return [(b"exitcode", guestlib.build("exitcode")), (b"cat", guestlib.build("cat"))]


def test_guest_status_in_dollar_question(guests):
    out, err, status, _ = run_script("exitcode 3; echo $?\nexitcode 9 signal; echo $?\n"
                                     "exitcode 0 && echo and\nexitcode 1 || echo or\n", guests)
    assert out == "3\n137\nand\nor\n", err


def test_the_shell_has_proc_entries(guests):
    out, err, _, _ = run_script("cat /proc/$$/comm /proc/$$/cmdline; echo\n", guests)
    assert out == "kshell\nkshell\0\n", err
