from akuma.abi import fcntl as F
from akuma.abi.errors import EACCES, ENOENT
from akuma.vfs import ProcFs, Vfs

from vfs_helpers import raises


def test_self_exe_follows_callback():
    exe = [b"/bin/prog"]
    v = Vfs()
    v.mkdir(b"/bin")
    v.open(b"/bin/prog", F.O_CREAT | F.O_WRONLY).write(b"ELF")
    v.mount(b"/proc", ProcFs(lambda: exe[0]))
    assert v.readlink(b"/proc/self/exe") == b"/bin/prog"
    assert v.stat(b"/proc/self/exe").size == 3
    assert v.stat(b"/proc/self/exe", follow=False).is_lnk
    exe[0] = b"/other"
    assert v.readlink(b"/proc/self/exe") == b"/other"
    with raises(ENOENT):
        v.stat(b"/proc/self/exe")
    names = [n for _, _, n in v.open(b"/proc/self", F.O_RDONLY).getdents()]
    assert names == [b".", b"..", b"exe"]


def test_extensible():
    p = ProcFs(lambda: b"/x")
    p.add_file(b"version", lambda: b"Linux version 6.1.0-akuma\n")
    p.add_dir(b"sys/kernel")
    p.add_file(b"sys/kernel/hostname", lambda: b"akuma\n")
    p.add(b"dyn", lambda: p.root.children[b"version"])        # a generator entry
    v = Vfs()
    v.mount(b"/proc", p)
    f = v.open(b"/proc/version", F.O_RDONLY)
    assert f.read(5) == b"Linux" and f.read(100).endswith(b"akuma\n")
    assert v.open(b"/proc/sys/kernel/hostname", 0).read(100) == b"akuma\n"
    assert v.stat(b"/proc/dyn").ino == v.stat(b"/proc/version").ino
    with raises(EACCES):
        v.open(b"/proc/version", F.O_WRONLY)
    assert v.stat(b"/proc/sys/..").ino == v.stat(b"/proc").ino
