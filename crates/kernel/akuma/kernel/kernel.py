"""The kernel: composes the CPU, the MMU, the scheduler and the VFS, starts
programs, and runs the loop that gives the CPU to threads and handles what
stops it (ticks, blocking syscalls, exits, exceptions, faults)."""
import os
import signal as _hostsignal
import sys
import threading
import time
import weakref

from akuma.abi import KernelError
from akuma.abi.errors import (E2BIG, EFAULT, EIO, ENOMEM, ENOENT, EACCES, ENOEXEC,
                              ELOOP)
from akuma.abi import signals as S
from akuma.arch import Cpu, hwcaps, EXCP_UDEF, EXCP_BKPT, EXCP_DATA_ABORT
from akuma.elf import (parse, ElfError, load_image, build_stack, STACK_TOP,
                       MINSIGSTKSZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS,
                       AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_HWCAP, AT_HWCAP2, AT_CLKTCK,
                       AT_SECURE, AT_MINSIGSTKSZ)
from akuma.elf.load import INTERP_BASE
from akuma.elf.source import ProgramFile
from akuma.kernel.filemaps import file_mapping
from akuma.mm import (FrameAllocator, Mmu, AddressSpace, EFault, OutOfMemory, PROT_READ,
                      PROT_WRITE, PROT_EXEC, MAPERR, ACCERR, PAGER, OOM, ACCESS_WRITE, ACCESS_FETCH)
from akuma.sched import Scheduler
from akuma.kernel.task import Process, Task
from akuma.kernel.faultaddr import fault_address, guess_fault_address
from akuma.kernel.lifecycle import Lifecycle
from akuma.kernel.signals import Signals
from akuma.kernel.futex import Futexes
from akuma.kernel.syscalls import table as systable
from akuma.arch import REG_SP, REG_TPIDR_EL0
from akuma.kernel.syscalls.strace import Tracer
from akuma.kernel import kloop

TICK_US = 10_000
# TLB fills in one warm slice above which the tick grows the TLB (Mmu.tick).
TLB_GROW_FILLS = 512
MAX_ARG_BYTES = 2 << 20          # argv+envp strings (ARG_MAX-ish)
# Programs up to this size are read whole at exec; larger ones are paged in
# on demand (a 100 MB binary starts without reading it).
EAGER_LOAD_MAX = 64 << 10
INITIAL_STACK = 128 << 10


class ExecError(Exception):
    """A program could not be started; ``status`` is the shell's code
    (126 not executable, 127 not found)."""

    def __init__(self, msg, status, errno=ENOEXEC):
        super().__init__(msg)
        self.status = status
        self.errno = errno


# A page in every process holding `mov x8, #139; svc #0` (rt_sigreturn):
# the return address of handlers installed without SA_RESTORER (glibc
# expects the vDSO's).
SIGRETURN_TRAMP = 0xFFFF_F000_0000
_TRAMP_CODE = bytes.fromhex("681180d2" "010000d4")


class Kernel(Lifecycle, Signals, Futexes):
    _sp_reg = REG_SP
    _tpidr_reg = REG_TPIDR_EL0

    def __init__(self, vfs, mem=512 << 20, strace=None, log=None, tick_us=TICK_US):
        self.log_file = log or sys.stderr
        self.cpu = Cpu(mem)
        self.loop = kloop.LoopState()  # the loaded task, MMU sync, CPU totals, switches
        self.frames = FrameAllocator(self.cpu)
        from akuma.kernel.filemaps import reclaim
        self.file_caches = {}       # inode key -> PageCache of private file mappings
        # Weakly: the allocator must not keep the kernel in a reference cycle.
        kref = weakref.ref(self)
        self.frames.on_oom = lambda: (k := kref()) is not None and reclaim(k)
        self.frames.on_code_dirty = lambda: (k := kref()) is not None and k._code_dirty()
        self.frames.start_prefault()
        self.mmu = Mmu(self.cpu, self.frames)
        self.sched = Scheduler()
        self.vfs = vfs
        self.hwcap, self.hwcap2 = hwcaps(self.cpu)
        self.boot_ns = time.monotonic_ns()
        self.hostname = b"akuma"
        self.processes = {}
        self.tasks = {}
        self.futex_queues = {}
        self._next_pid = 1
        self._pristine = self.cpu.new_context()
        self._pristine.save()
        self._unsupported_seen = set()
        self._host_ttys = {}
        self._host_signals = []
        self.tick_us = tick_us
        self.shutdown = None         # "poweroff" | "reboot" | "halt" once reboot(2) asked
        self.shutdown_status = 0     # akuma's exit status when the machine stops
        # Host signals that stop a booted machine (disks flushed) instead of
        # reaching the guest's foreground group.
        self.host_shutdown_signals = frozenset()
        tracer = None
        if strace is not None:
            tracer = Tracer(self.log_file, names=strace or None)
        for m in getattr(vfs, "mounts", lambda: [])():
            if getattr(m.fs, "fstype", None) == b"proc":
                from akuma.kernel import procdata
                procdata.install(self, m.fs)
        from akuma.kernel.fifo import Fifos
        self.fifos = Fifos(self)
        vfs.special_open = self.fifos.open   # named pipes (mkfifo)
        from akuma.kernel.tty import install_all
        install_all(self)               # /dev/tty, /dev/console, /dev/ptmx, /dev/pts
        self.console = None             # the host terminal, when `akuma` has one
        from akuma.net import service
        service.attach(self)            # kernel.net: the TCP/IP stack, AF_INET sockets
        self.cpu.syscall_table = systable.build(tracer.wrap if tracer else None)
        if tracer is None:
            # read/write on pipes in C; strace sees every call in Python.
            from akuma.kernel import fastsys
            from akuma.kernel.pipe import PipeEnd
            fastsys.install(self.cpu, PipeEnd)
        self.cpu.fallback = systable.fallback
        self.cpu.on_error = self.syscall_error

    # -- logging ------------------------------------------------------------------
    def log(self, msg):
        try:
            self.log_file.write(f"akuma: {msg}\n")
            self.log_file.flush()
        except (OSError, ValueError):
            pass

    def log_unsupported(self, t, nr, name):
        if name not in self._unsupported_seen:
            self._unsupported_seen.add(name)
            self.log(f"{t.process.comm.decode(errors='replace')}: unsupported syscall "
                     f"{name} ({nr}), returning ENOSYS")

    def syscall_error(self, t, nr, exc):
        """Every exception out of a handler ends here and becomes -errno."""
        if isinstance(exc, KernelError):
            return -exc.errno
        if isinstance(exc, EFault):
            return -EFAULT
        if isinstance(exc, OutOfMemory):
            return -ENOMEM
        if isinstance(exc, OSError) and exc.errno:
            return -exc.errno
        from akuma.kernel.syscalls.numbers import NAMES
        import traceback
        self.log(f"internal error in {NAMES.get(nr, nr)}: {exc!r}; returning EIO")
        if os.environ.get("AKUMA_DEBUG"):
            traceback.print_exception(exc, file=self.log_file)
        return -EIO

    # -- processes ----------------------------------------------------------------------
    def current_exe(self):
        """/proc/self/exe of whoever asks (the running task's process)."""
        t = self.cpu.task
        return t.process.exe if t is not None else b""

    def _alloc_pid(self):
        pid = self._next_pid
        self._next_pid += 1
        return pid

    def new_address_space(self):
        return AddressSpace(self.frames, on_tlb_stale=self.tlb_stale)

    def tlb_stale(self):
        """Cached translations or code no longer match the page tables.
        From inside a hook (a syscall), stop the CPU and sync before it runs
        again; unicorn must not flush while it handles an exception."""
        if self.cpu.running:
            self.loop.need_sync = True
            self.cpu.request_stop()
        else:
            self.mmu.sync()

    def slice_ns(self):
        """CPU time the running slice has used so far (not yet charged to
        its task): CPU-time clocks read inside a syscall add it."""
        start = self.cpu.slice_start
        return time.monotonic_ns() - start if start else 0

    def _code_dirty(self):
        """A frame code may run from was freed or rewritten by the kernel:
        its translated blocks go before the guest runs again."""
        self.loop.need_sync = True
        if self.cpu.running:
            self.cpu.request_stop()

    def spawn(self, path, argv, envp, files=(), cwd=b"/", parent=None):
        """Start ``path`` as a new process; ``files`` are installed as fds
        0, 1, 2...  Raises ExecError."""
        pid = self._alloc_pid()
        proc = Process(pid, self.new_address_space(), parent)
        proc.cwd = cwd
        for f in files:
            proc.fds.install(f)
        task = Task(pid, proc, self.cpu.new_context())
        task.kernel = self
        try:
            self._exec_into(task, path, argv, envp)
        except BaseException:
            proc.fds.close_all()
            proc.aspace.release()
            raise
        self.processes[pid] = proc
        self.tasks[pid] = task
        self.sched.add(task)
        return proc

    def _read_program(self, path, cwd, root=b"/"):
        """The program file, open, with its head read (ProgramFile)."""
        try:
            task = self.cpu.task        # None while spawning the first process
            f = self.vfs.open_exec(path, cwd=cwd, root=root,
                                   creds=task.process.creds if task is not None else None)
        except KernelError as e:
            status = 127 if e.errno == ENOENT else 126
            why = os.strerror(e.errno)
            if e.errno == EACCES and self._is_directory(path, cwd, root):
                why = "Is a directory"          # execve says EACCES; a shell says this
            raise ExecError(f"{path.decode(errors='replace')}: {why}", status, e.errno) from None
        try:
            st = f.stat()
            if st.is_dir:
                raise ExecError(f"{path.decode(errors='replace')}: Is a directory", 126, EACCES)
            if not st.is_reg or not st.mode & 0o111:
                # Even root needs one execute bit (and a regular file).
                raise ExecError(f"{path.decode(errors='replace')}: Permission denied", 126,
                                EACCES)
            return ProgramFile(f, st.size)
        except BaseException:
            f.close()
            raise

    def _is_directory(self, path, cwd, root):
        try:
            return self.vfs.stat(path, cwd=cwd, root=root).is_dir
        except KernelError:
            return False

    def _load_elf(self, path, cwd, prog=None, root=b"/"):
        if prog is None:
            prog = self._read_program(path, cwd, root)
        try:
            return parse(prog.head, prog.size, prog.read), prog
        except ElfError as e:
            prog.close()
            raise ExecError(f"{path.decode(errors='replace')}: {e}", 126) from None

    def _resolve_scripts(self, path, argv, cwd, root=b"/"):
        """Follow `#!` lines as Linux's binfmt_script does: argv becomes
        [interpreter, optional argument, script path as given, argv[1:]...];
        at most 4 levels (ELOOP)."""
        for _ in range(5):
            prog = self._read_program(path, cwd, root)
            data = prog.head
            if data[:2] != b"#!":
                return path, argv, prog
            prog.close()
            line = data[2:256].split(b"\n", 1)[0].strip(b" \t\r")
            if not line:
                raise ExecError(f"{path.decode(errors='replace')}: bad interpreter line", 126,
                                ENOEXEC)
            interp, _, arg = line.replace(b"\t", b" ").partition(b" ")
            arg = arg.strip(b" \t")
            argv = [interp] + ([arg] if arg else []) + [path] + list(argv[1:])
            path = interp
        raise ExecError(f"{path.decode(errors='replace')}: too many levels of interpreters",
                        126, ELOOP)

    def _exec_into(self, task, path, argv, envp):
        proc = task.process
        execfn = path
        path, argv, prog = self._resolve_scripts(path, argv, proc.cwd, proc.root)
        img, prog = self._load_elf(path, proc.cwd, prog)
        try:
            return self._exec_image(task, path, argv, envp, execfn, img, prog)
        finally:
            prog.close()

    def _exec_image(self, task, path, argv, envp, execfn, img, prog):
        proc = task.process
        img.path = path.decode(errors="replace")
        if sum(len(a) + 1 for a in argv) + sum(len(e) + 1 for e in envp) > MAX_ARG_BYTES:
            raise ExecError(f"{path.decode(errors='replace')}: Argument list too long", 126,
                            E2BIG)
        aspace = proc.aspace
        aspace.stack_limit = _stack_limit(proc)
        try:
            loaded = self._load_program(aspace, img, prog)
            entry, interp_base = loaded.entry, 0
            if img.interp:
                iimg, iprog = self._load_elf(img.interp.encode(), proc.cwd, root=proc.root)
                iimg.path = img.interp
                try:
                    iloaded = self._load_program(aspace, iimg, iprog, base=INTERP_BASE)
                finally:
                    iprog.close()
                entry, interp_base = iloaded.entry, iloaded.base
            aspace.brk_start = aspace.brk = (loaded.brk + 4095) & ~4095
            # PT_GNU_STACK asks for an executable stack (old JITs, nested
            # C functions); the default is RW.
            stack_prot = PROT_READ | PROT_WRITE | (PROT_EXEC if loaded.exec_stack else 0)
            # Linux's initial extent; faults below grow it up to RLIMIT_STACK.
            aspace.map(STACK_TOP - INITIAL_STACK, INITIAL_STACK, stack_prot, name="[stack]",
                       growsdown=True)
            c = proc.creds
            auxv = [(AT_PHDR, loaded.phdr), (AT_PHENT, 56), (AT_PHNUM, loaded.phnum),
                    (AT_PAGESZ, 4096), (AT_BASE, interp_base), (AT_FLAGS, 0),
                    (AT_ENTRY, loaded.entry), (AT_UID, c.uid), (AT_EUID, c.euid),
                    (AT_GID, c.gid), (AT_EGID, c.egid), (AT_HWCAP, self.hwcap),
                    (AT_HWCAP2, self.hwcap2), (AT_CLKTCK, 100), (AT_SECURE, 0),
                    (AT_MINSIGSTKSZ, MINSIGSTKSZ)]
            sp = build_stack(aspace, STACK_TOP, argv, envp, auxv, execfn, os.urandom(16))
            aspace.map(SIGRETURN_TRAMP, 4096, PROT_READ | PROT_WRITE, name="[sigpage]")
            aspace.write(SIGRETURN_TRAMP, _TRAMP_CODE)
            aspace.protect(SIGRETURN_TRAMP, 4096, PROT_READ | PROT_EXEC)
            proc.sigreturn_tramp = SIGRETURN_TRAMP
        except OutOfMemory:
            raise ExecError(f"{path.decode(errors='replace')}: Cannot allocate memory", 126,
                            ENOMEM) from None
        except EFault as e:
            raise ExecError(f"{path.decode(errors='replace')}: bad ELF layout ({e})", 126) \
                from None
        try:
            proc.exe = self.vfs.resolve(path, cwd=proc.cwd, root=proc.root).path
        except KernelError:
            proc.exe = path
        proc.comm = os.path.basename(path)[:15]
        proc.argv, proc.envp = list(argv), list(envp)
        # A fresh register file: everything zero but PC and SP.
        self._unload()
        self._pristine.restore()
        self.cpu.pc = entry
        self.cpu.sp = sp
        self.cpu.tls = 0
        task.context.save()
        self.tlb_stale()
        # The CPU holds a fresh register file for `task` now.

    def _load_program(self, aspace, img, prog, base=None):
        """Map the segments: small programs are copied in at once (one read
        beats a fault per page), large ones are paged in lazily."""
        if prog.size <= EAGER_LOAD_MAX:
            return load_image(aspace, img, prog.read(0, prog.size), base)
        return load_image(aspace, img, None, base, mapping=file_mapping(self, prog.file, False))

    # -- the loop ------------------------------------------------------------------------
    def _unload(self):
        kloop.unload(self.loop)

    def run(self, until=None):
        """Run threads until ``until`` (a process) has exited, or until no
        process is left.  Returns that process's wait status."""
        self._install_host_signals()
        watchdog = self.cpu.start_watchdog(self.tick_us)
        try:
            result = kloop.run_loop(self, until, TLB_GROW_FILLS)
            # Like Linux, the stack keeps sending after the process is gone:
            # closed connections deliver their send queues (bounded).
            net = getattr(self, "net", None)
            if net is not None:
                net.drain(self.sched)
            return result
        finally:
            self.cpu.stop_watchdog()
            watchdog.join()
            self._restore_host_signals()
            self.restore_host_ttys()

    # -- faults and exceptions -----------------------------------------------------------------
    def _fault(self, t):
        pt = t.process.aspace.pt
        addr, access, code = pt.take_fault()
        pc = self.cpu.pc
        if code == 0:
            # No access was refused, yet the CPU stopped with an error.
            # unicorn does this now and then around address-space switches
            # (resuming is right), and for an access to its `until` probe
            # page (a fault). A fault repeats at once at the same PC; a
            # benign exit does not.
            if t.unexplained != pc:
                t.unexplained = pc
                return
            t.unexplained = None
            code = MAPERR
            addr = guess_fault_address(t.process.aspace, pc, self.cpu.xregs(), self.cpu.sp)
            access = ACCESS_FETCH if addr is None else 0
            addr = pc if addr is None else addr
        elif code in (PAGER, MAPERR):
            # File pages and stack growth need Python: the pager.
            try:
                verdict = t.process.aspace.handle_fault(addr, access, code, _stack_limit(t.process))
            except OutOfMemory:
                verdict, code = "OOM", OOM
            except Exception as e:      # a backing file's I/O error: never the host's
                self.log(f"pid {t.process.pid}: paging in {addr:#x} failed: {e!r}")
                verdict = "SIGBUS"
            if verdict is None:
                return                  # resume: the access completes now
            if verdict == "SIGBUS":
                code = PAGER
        if access != ACCESS_FETCH and code in (MAPERR, ACCERR, PAGER):
            # The callback saw only the page: decode the load/store.
            addr = fault_address(t.process.aspace, pc, self.cpu.xregs(), self.cpu.sp, addr)
        if code == OOM:
            from akuma.kernel.filemaps import reclaim
            if reclaim(self):
                return                  # cached file pages made room: retry the access
            self.log(f"out of memory: killed pid {t.process.pid} "
                     f"({t.process.comm.decode(errors='replace')})")
            self.exit_process(t.process, S.SIGKILL)
            return
        if code == PAGER:
            # A file mapping's page past the end of the file.
            self.force_signal(t, S.SIGBUS, S.BUS_ADRERR, addr, pc,
                              f"access to {addr:#x} past the end of a mapped file")
            return
        kind = {ACCESS_WRITE: "write", ACCESS_FETCH: "execute"}.get(access, "read")
        why = "unmapped" if code == MAPERR else "protected"
        self.force_signal(t, S.SIGSEGV, S.SEGV_MAPERR if code == MAPERR else S.SEGV_ACCERR,
                          addr, pc, f"{kind} of {why} address {addr:#x}")

    def _exception(self, t, intno):
        pc = self.cpu.pc
        if intno == EXCP_UDEF:
            self.force_signal(t, S.SIGILL, S.ILL_ILLOPC, pc, pc, "undefined instruction")
        elif intno == EXCP_BKPT:
            self.force_signal(t, S.SIGTRAP, S.TRAP_BRKPT, pc, pc, "breakpoint")
        elif intno == EXCP_DATA_ABORT:
            self.force_signal(t, S.SIGBUS, S.BUS_ADRALN, pc, pc, "data abort")
        else:
            self.force_signal(t, S.SIGILL, S.ILL_ILLOPC, pc, pc, f"exception {intno}")

    def _install_host_signals(self):
        """Ctrl+C and friends on the host go to the guest, never a Python
        traceback."""
        self._saved_handlers = {}
        if threading.current_thread() is not threading.main_thread():
            return
        for hs in (_hostsignal.SIGINT, _hostsignal.SIGTERM, _hostsignal.SIGHUP,
                   _hostsignal.SIGQUIT):
            self._saved_handlers[hs] = _hostsignal.signal(hs, self._on_host_signal)
        r, w = os.pipe()
        os.set_blocking(w, False)
        os.set_blocking(r, False)
        self._sigpipe = (r, w)
        self._saved_wakeup = _hostsignal.set_wakeup_fd(w)
        self.sched.add_wake_fd(r, lambda: _drain(r))

    def _restore_host_signals(self):
        for hs, h in getattr(self, "_saved_handlers", {}).items():
            _hostsignal.signal(hs, h)
        if getattr(self, "_sigpipe", None):
            _hostsignal.set_wakeup_fd(self._saved_wakeup)
            for fd in self._sigpipe:
                os.close(fd)
            self._sigpipe = None

    def _on_host_signal(self, signum, frame):
        self._host_signals.append(signum)
        self.cpu.interrupt()

    def _deliver_host_signals(self):
        while self._host_signals:
            hs = self._host_signals.pop(0)
            if hs in self.host_shutdown_signals:
                self.stop_machine(f"terminated by {_hostsignal.Signals(hs).name}", 128 + hs)
                continue
            sig = {_hostsignal.SIGINT: S.SIGINT, _hostsignal.SIGTERM: S.SIGTERM,
                   _hostsignal.SIGHUP: S.SIGHUP, _hostsignal.SIGQUIT: S.SIGQUIT}[hs]
            for p in list(self.processes.values()):
                if p.alive and p.pgid == self.foreground_pgid():
                    self.send_signal(p, sig)

    def stop_machine(self, why, status=0):
        """End the kernel loop (the caller flushes and unmounts)."""
        if self.shutdown is None:
            self.shutdown, self.shutdown_status = why, status

    def foreground_pgid(self):
        """Host Ctrl+C and friends go to the console's foreground group."""
        console = self.console
        if console is not None and console.tty.pgrp:
            return console.tty.pgrp
        return 1

    # -- host terminals -----------------------------------------------------------------------------
    def remember_host_tty(self, fd, attrs):
        self._host_ttys.setdefault(fd, attrs)

    def restore_host_ttys(self):
        import termios
        if self.console is not None:
            self.console.stop()         # the host terminal as it was before the console
        for fd, attrs in self._host_ttys.items():
            try:
                termios.tcsetattr(fd, termios.TCSADRAIN, attrs)
            except (OSError, termios.error):
                pass
        self._host_ttys.clear()


def _stack_limit(proc):
    """How far the main stack may grow (RLIMIT_STACK)."""
    from akuma.kernel.rlimit import RLIMIT_STACK, RLIM_INFINITY
    soft = proc.rlimits[RLIMIT_STACK][0]
    return 1 << 40 if soft == RLIM_INFINITY else soft


def _drain(fd):
    try:
        while os.read(fd, 512):
            pass
    except (BlockingIOError, OSError):
        pass


def wait_status_to_exit_code(status):
    """Shell convention: exit code, or 128 + signal."""
    if status & 0x7F:
        return 128 + (status & 0x7F)
    return (status >> 8) & 0xFF


__all__ = ["Kernel", "ExecError", "wait_status_to_exit_code"]
