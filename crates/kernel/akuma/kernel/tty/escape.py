"""QEMU's console escape for a booted system: Ctrl+A then a key.  `x` ends
the session (disks flushed, status 0), `s` syncs the disks, `h` shows the
keys, Ctrl+A sends a literal Ctrl+A; any other key after Ctrl+A is dropped,
as in QEMU's character-device multiplexer."""
ESCAPE = 0x01

HELP = (b"\r\nC-a h    print this help\r\nC-a x    exit akuma (disks are flushed)\r\n"
        b"C-a s    sync the disks\r\nC-a C-a  send C-a\r\n")


class EscapeKeys:
    def __init__(self, on_exit, on_sync, show):
        self.on_exit, self.on_sync, self.show = on_exit, on_sync, show
        self.pending = False

    def filter(self, data):
        """The bytes of ``data`` meant for the guest; escape commands run."""
        out = bytearray()
        for b in data:
            if not self.pending:
                if b == ESCAPE:
                    self.pending = True
                else:
                    out.append(b)
                continue
            self.pending = False
            key = chr(b).lower()
            if b == ESCAPE:
                out.append(ESCAPE)
            elif key == "x":
                self.show(b"\r\nakuma: terminated (C-a x)\r\n")
                self.on_exit()
                break
            elif key == "s":
                self.on_sync()
                self.show(b"\r\nakuma: disks synced\r\n")
            elif key == "h":
                self.show(HELP)
        return bytes(out)
