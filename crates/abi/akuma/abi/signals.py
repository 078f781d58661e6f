"""Signal numbers (AArch64 = asm-generic) and their default actions."""
SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE = 1, 2, 3, 4, 5, 6, 7, 8
SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT = 9, 10, 11, 12, 13, 14, 15, 16
SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU = 17, 18, 19, 20, 21, 22, 23, 24
SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS = 25, 26, 27, 28, 29, 30, 31
SIGRTMIN, SIGRTMAX = 32, 64
NSIG = 64

NAMES = {v: k for k, v in globals().items() if k.startswith("SIG") and k[3:].isalnum()
         and k not in ("SIGRTMIN", "SIGRTMAX") and isinstance(v, int)}

SIG_DFL, SIG_IGN = 0, 1

# Default actions (signal(7)).
TERM, CORE, IGNORE, STOP, CONT = "term", "core", "ign", "stop", "cont"
_CORE = {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS}
_IGNORE = {SIGCHLD, SIGURG, SIGWINCH}
_STOP = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}


def default_action(sig):
    if sig in _CORE:
        return CORE
    if sig in _IGNORE:
        return IGNORE
    if sig in _STOP:
        return STOP
    if sig == SIGCONT:
        return CONT
    return TERM


def signame(sig):
    if SIGRTMIN <= sig <= SIGRTMAX:
        return f"SIGRT{sig - SIGRTMIN}"
    return NAMES.get(sig, f"signal {sig}")


# si_code values
SEGV_MAPERR, SEGV_ACCERR = 1, 2
BUS_ADRALN, BUS_ADRERR = 1, 2
ILL_ILLOPC = 1
TRAP_BRKPT = 1
SI_USER, SI_KERNEL = 0, 0x80
