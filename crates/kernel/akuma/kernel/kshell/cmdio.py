"""A command's standard streams as a built-in sees them: the files at fds
0, 1, 2 of whoever runs it (the shell with redirections applied, or a
subshell's fd table), written without blocking the kernel loop."""
from akuma.abi import KernelError

from akuma.kernel.kshell.kthread import write_all


class Io:
    def __init__(self, task, files):
        self.task = task
        self.files = files

    def write(self, fd, text):
        """Generator: write ``text`` (str or bytes) to ``fd``; False if it
        failed (a closed pipe, no such fd)."""
        f = self.files.get(fd)
        if f is None:
            return False
        data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
        try:
            yield from write_all(self.task, f, data)
        except (KernelError, OSError):
            return False
        return True

    def out(self, text):
        return (yield from self.write(1, text))

    def err(self, text):
        return (yield from self.write(2, text))
