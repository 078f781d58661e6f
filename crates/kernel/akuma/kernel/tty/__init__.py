"""Terminals: the line discipline (ldisc), terminals and their files (tty),
controlling terminals and job control (jobctl), pseudo-terminals (pty), the
/dev nodes (devices), the host console (console) and the ioctls (ioctl)."""
from akuma.kernel.tty.pty import open_pty
from akuma.kernel.tty.devices import install_all

__all__ = ["open_pty", "install_all"]
