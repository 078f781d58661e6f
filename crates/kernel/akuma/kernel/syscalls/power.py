"""reboot(2): power off, halt or restart the machine — here, end the kernel
loop; the caller (the `akuma` command) flushes the disks and exits 0."""
from akuma.abi.errors import EINVAL, EPERM
from akuma.kernel.syscalls.registry import syscall

MAGIC1 = 0xFEE1DEAD
MAGIC2 = (0x28121969, 0x05121996, 0x16041998, 0x20112000)
CMD_RESTART, CMD_HALT, CMD_POWER_OFF = 0x01234567, 0xCDEF0123, 0x4321FEDC
CMD_RESTART2, CMD_CAD_ON, CMD_CAD_OFF = 0xA1B2C3D4, 0x89ABCDEF, 0x00000000
SHUTDOWN = {CMD_RESTART: "reboot", CMD_RESTART2: "reboot", CMD_HALT: "halt",
            CMD_POWER_OFF: "poweroff"}


@syscall("reboot", "hex hex hex hex",
         note="partial: power off, halt and restart end the session; CAD on/off; no kexec "
              "or suspend (EINVAL)")
def sys_reboot(t, magic1, magic2, cmd, arg, *_):
    if t.process.creds.euid != 0:          # CAP_SYS_BOOT, checked before the magic
        return -EPERM
    if magic1 & 0xFFFFFFFF != MAGIC1 or magic2 & 0xFFFFFFFF not in MAGIC2:
        return -EINVAL
    cmd &= 0xFFFFFFFF
    k = t.kernel
    if cmd in (CMD_CAD_ON, CMD_CAD_OFF):
        k.ctrl_alt_del_enabled = cmd == CMD_CAD_ON
        return 0
    what = SHUTDOWN.get(cmd)
    if what is None:                        # kexec, suspend: not configured
        return -EINVAL
    k.shutdown = what
    k.cpu.request_stop()
    return 0
