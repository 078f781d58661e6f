"""busybox's applet list, from busybox itself: `busybox --list-full` run on
an Akuma kernel in this process, against the image being built."""
import os
import tempfile

from akuma.image.errors import ImageError

BUSYBOX = b"/bin/busybox"


def list_applets(fs):
    """['usr/bin/awk', 'sbin/init', ...] as busybox would install them; ``fs``
    is the mounted image (an Ext2Fs) that holds /bin/busybox."""
    from akuma.kernel import Kernel, ExecError, wait_status_to_exit_code
    from akuma.vfs import Vfs, HostStream

    vfs = Vfs()
    vfs.mount(b"/", fs)
    with tempfile.TemporaryFile() as out:
        files = [HostStream(os.open(os.devnull, os.O_RDONLY), b"/dev/stdin"),
                 HostStream(os.dup(out.fileno()), b"/dev/stdout"),
                 HostStream(os.open(os.devnull, os.O_WRONLY), b"/dev/stderr")]
        kernel = Kernel(vfs, mem=64 << 20, log=_Discard())
        try:
            proc = kernel.spawn(BUSYBOX, [b"busybox", b"--list-full"], [], files=files)
        except ExecError as e:
            raise ImageError(f"cannot run busybox to list its applets: {e}") from None
        status = wait_status_to_exit_code(kernel.run(until=proc))
        if status != 0:
            raise ImageError(f"busybox --list-full failed with status {status}")
        out.seek(0)
        text = out.read().decode(errors="replace")
    return [line.strip().lstrip("/") for line in text.splitlines() if line.strip()]


class _Discard:
    def write(self, _):
        pass

    def flush(self):
        pass
