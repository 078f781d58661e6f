"""The kernel shell (the seed's built-in shell): a kernel thread with
pipelines, redirections, chaining, quoting, expansion, globbing, jobs and
built-ins, running guest programs as real processes."""
from akuma.kernel.kshell.shell import Shell, start_kernel_shell

__all__ = ["Shell", "start_kernel_shell"]
