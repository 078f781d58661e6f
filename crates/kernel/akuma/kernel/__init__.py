"""akuma.kernel — processes, credentials, the syscall table and its
handlers (one module per family under syscalls/), signals, fd tables and
the kernel loop."""
from akuma.kernel.kernel import Kernel, ExecError, wait_status_to_exit_code
from akuma.kernel.task import Process, Task

__all__ = ["Kernel", "ExecError", "wait_status_to_exit_code", "Process", "Task"]
