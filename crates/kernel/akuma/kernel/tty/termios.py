"""struct termios, struct winsize and the terminal ioctl numbers of Linux
(asm-generic, as AArch64 uses them), with Linux's default settings."""
import struct
from dataclasses import dataclass, field

# c_iflag
IGNBRK, BRKINT, IGNPAR, PARMRK, INPCK, ISTRIP = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40
INLCR, IGNCR, ICRNL, IUCLC, IXON, IXANY, IXOFF = 0o100, 0o200, 0o400, 0o1000, 0o2000, 0o4000, 0o10000
IMAXBEL, IUTF8 = 0o20000, 0o40000
# c_oflag
OPOST, OLCUC, ONLCR, OCRNL, ONOCR, ONLRET = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40
TABDLY, XTABS = 0o14000, 0o14000
# c_cflag
B38400, CS8, CREAD, HUPCL, CBAUD = 0o17, 0o60, 0o200, 0o2000, 0o10017
# c_lflag
ISIG, ICANON, XCASE, ECHO, ECHOE, ECHOK, ECHONL, NOFLSH = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40, 0o100, 0o200
TOSTOP, ECHOCTL, ECHOPRT, ECHOKE, FLUSHO, PENDIN, IEXTEN = (0o400, 0o1000, 0o2000, 0o4000, 0o10000,
                                                           0o40000, 0o100000)
EXTPROC = 0o200000
# c_cc indices
(VINTR, VQUIT, VERASE, VKILL, VEOF, VTIME, VMIN, VSWTC, VSTART, VSTOP, VSUSP, VEOL, VREPRINT,
 VDISCARD, VWERASE, VLNEXT, VEOL2) = range(17)
NCCS = 19
# Linux's INIT_C_CC: ^C ^\ DEL ^U ^D 0 1 0 ^Q ^S ^Z 0 ^R ^O ^W ^V 0
INIT_C_CC = bytes([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0])

# ioctl requests
TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TCGETA, TCSETA, TCSETAW, TCSETAF = 0x5405, 0x5406, 0x5407, 0x5408
TCSBRK, TCXONC, TCFLSH, TIOCEXCL, TIOCNXCL, TIOCSCTTY = 0x5409, 0x540A, 0x540B, 0x540C, 0x540D, 0x540E
TIOCGPGRP, TIOCSPGRP, TIOCOUTQ, TIOCSTI, TIOCGWINSZ, TIOCSWINSZ = (0x540F, 0x5410, 0x5411, 0x5412,
                                                                  0x5413, 0x5414)
FIONREAD, TIOCPKT, FIONBIO, TIOCNOTTY, TIOCSETD, TIOCGETD = 0x541B, 0x5420, 0x5421, 0x5422, 0x5423, 0x5424
TCSBRKP, TIOCSBRK, TIOCCBRK, TIOCGSID = 0x5425, 0x5427, 0x5428, 0x5429
TCGETS2, TCSETS2, TCSETSW2, TCSETSF2 = 0x802C542A, 0x402C542B, 0x402C542C, 0x402C542D
TIOCGPTN, TIOCSPTLCK, TIOCGDEV, TIOCSIG = 0x80045430, 0x40045431, 0x80045432, 0x40045436
TIOCVHANGUP, TIOCGPKT, TIOCGPTLCK, TIOCGEXCL, TIOCGPTPEER = 0x5437, 0x80045438, 0x80045439, 0x80045440, 0x5441
TCIFLUSH, TCOFLUSH, TCIOFLUSH = 0, 1, 2
TCOOFF, TCOON, TCIOFF, TCION = 0, 1, 2, 3

TERMIOS = struct.Struct(f"<IIIIB{NCCS}s")          # kernel struct termios (36 bytes)
TERMIOS2 = struct.Struct(f"<IIIIB{NCCS}sII")       # struct termios2 (44 bytes)
TERMIO = struct.Struct("<HHHHB8s")                 # struct termio (18 bytes)
WINSIZE = struct.Struct("<HHHH")
_BAUD = {0o17: 38400, 0o15: 9600, 0o10002: 115200}


@dataclass
class Termios:
    iflag: int = ICRNL | IXON
    oflag: int = OPOST | ONLCR
    cflag: int = B38400 | CS8 | CREAD | HUPCL
    lflag: int = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
    line: int = 0
    cc: bytearray = field(default_factory=lambda: bytearray(INIT_C_CC))
    ispeed: int = 38400
    ospeed: int = 38400

    @classmethod
    def raw(cls):
        """A pty master's own settings: no processing at all."""
        return cls(iflag=0, oflag=0, lflag=0)

    def copy(self):
        return Termios(self.iflag, self.oflag, self.cflag, self.lflag, self.line,
                       bytearray(self.cc), self.ispeed, self.ospeed)

    def pack(self):
        return TERMIOS.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line,
                            bytes(self.cc))

    def pack2(self):
        return TERMIOS2.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line,
                             bytes(self.cc), self.ispeed, self.ospeed)

    def pack_termio(self):
        return TERMIO.pack(self.iflag & 0xFFFF, self.oflag & 0xFFFF, self.cflag & 0xFFFF,
                           self.lflag & 0xFFFF, self.line, bytes(self.cc[:8]))

    @classmethod
    def unpack(cls, raw):
        i, o, c, l_, line, cc = TERMIOS.unpack(raw[:TERMIOS.size])
        speed = _BAUD.get(c & CBAUD, 38400)
        return cls(i, o, c, l_, line, bytearray(cc), speed, speed)

    @classmethod
    def unpack2(cls, raw):
        i, o, c, l_, line, cc, isp, osp = TERMIOS2.unpack(raw[:TERMIOS2.size])
        return cls(i, o, c, l_, line, bytearray(cc), isp, osp)

    def with_termio(self, raw):
        """TCSETA: the low 16 bits of each flag word and the first 8 c_cc."""
        i, o, c, l_, line, cc = TERMIO.unpack(raw[:TERMIO.size])
        new = self.copy()
        new.iflag = (self.iflag & ~0xFFFF) | i
        new.oflag = (self.oflag & ~0xFFFF) | o
        new.cflag = (self.cflag & ~0xFFFF) | c
        new.lflag = (self.lflag & ~0xFFFF) | l_
        new.line = line
        new.cc[:8] = cc
        return new

    # Convenience views of the flags the line discipline consults.
    def i(self, flag):
        return bool(self.iflag & flag)

    def o(self, flag):
        return bool(self.oflag & flag)

    def l(self, flag):  # noqa: E743  (Linux's L_ macros)
        return bool(self.lflag & flag)


@dataclass
class WinSize:
    rows: int = 0           # a new pty has no size until someone sets one
    cols: int = 0
    xpixel: int = 0
    ypixel: int = 0

    def pack(self):
        return WINSIZE.pack(self.rows, self.cols, self.xpixel, self.ypixel)

    @classmethod
    def unpack(cls, raw):
        return cls(*WINSIZE.unpack(raw[:WINSIZE.size]))
