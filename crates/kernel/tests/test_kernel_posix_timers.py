"""POSIX timers (timer_create & co.) called directly: what the guest
program (tests/guest/posix_timers.c) cannot compare with qemu-user: alarm
clocks and privileges, id allocation, the siginfo layout, and the overrun
bookkeeping on a clock the test drives."""
import io
import struct

import pytest

from akuma.abi import KernelError
from akuma.abi import signals as S
from akuma.abi.errors import EINVAL, EPERM, EFAULT, EOPNOTSUPP
from akuma.kernel import Kernel, Process, Task
from akuma.kernel.posixtimers import (POSIX_CPU, SI_TIMER, DELAYTIMER_MAX, SIGEV_NONE,
                                      SIGEV_THREAD_ID, exit_timers)
from akuma.kernel.signals import pack_siginfo
from akuma.kernel.syscalls.registry import HANDLERS
from akuma.vfs import Vfs

P = 4096
NOFD = (1 << 64) - 1
CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID = 0, 1, 2
CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM = 8, 9
SIGRT = 40


@pytest.fixture(scope="module")
def kernel():
    return Kernel(Vfs(), mem=16 << 20, log=io.StringIO())


@pytest.fixture
def t(kernel):
    p = Process(50, kernel.new_address_space())
    task = Task(50, p, kernel.cpu.new_context())
    task.kernel = kernel
    kernel.processes[50] = p
    kernel.tasks[50] = task
    task.buf = call(task, "mmap", 0, P, 3, 0x22, NOFD, 0)
    yield task
    exit_timers(p)
    kernel.processes.pop(50, None)
    kernel.tasks.pop(50, None)
    p.aspace.release()


def call(t, name, *args):
    try:
        return HANDLERS[name](t, *args, *([0] * (6 - len(args))))
    except KernelError as e:
        return -e.errno


def create(t, clock, sigevent=None):
    """(result, id) of timer_create with ``sigevent`` (bytes) or NULL."""
    sev = 0
    if sigevent is not None:
        sev = t.buf + 64
        t.process.aspace.write(sev, sigevent.ljust(64, b"\0"))
    r = call(t, "timer_create", clock, sev, t.buf)
    return r, struct.unpack("<i", t.process.aspace.read(t.buf, 4))[0]


def sigevent(notify, signo, value=0, tid=0):
    return struct.pack("<Qiii", value, signo, notify, tid)


def settime(t, timer_id, interval, value, flags=0):
    t.process.aspace.write(t.buf + 128, struct.pack(
        "<qqqq", interval // 10**9, interval % 10**9, value // 10**9, value % 10**9))
    return call(t, "timer_settime", timer_id, flags, t.buf + 128, 0)


def gettime(t, timer_id):
    r = call(t, "timer_gettime", timer_id, t.buf + 192)
    sec_i, nsec_i, sec_v, nsec_v = struct.unpack("<qqqq", t.process.aspace.read(t.buf + 192, 32))
    return r, sec_i * 10**9 + nsec_i, sec_v * 10**9 + nsec_v


def test_alarm_clocks_need_root_and_otherwise_run_on_their_base(t):
    t.process.creds.euid = 1000
    r, first = create(t, CLOCK_REALTIME_ALARM)
    assert r == -EPERM
    assert create(t, CLOCK_BOOTTIME_ALARM)[0] == -EPERM
    t.process.creds.euid = 0
    r, tid = create(t, CLOCK_BOOTTIME_ALARM)
    assert r == 0 and tid == first + 2          # the refusals used up their ids (Linux)
    assert settime(t, tid, 0, 5 * 10**9) == 0
    assert 4 * 10**9 < gettime(t, tid)[2] <= 5 * 10**9


def test_unknown_and_timerless_clocks(t):
    assert create(t, 12)[0] == -EINVAL
    assert create(t, 4)[0] == -EOPNOTSUPP       # CLOCK_MONOTONIC_RAW: no timers
    assert create(t, -29)[0] == -EOPNOTSUPP     # a dynamic (fd) clock
    assert create(t, -1)[0] == -EINVAL          # CPU clock "which" 3
    assert create(t, (~t.process.pid << 3) | 2)[0] == 0      # our own pid's CPU clock
    assert create(t, (~12345 << 3) | 2)[0] == -EINVAL        # no such process


def test_ids_count_on_past_deleted_ones_and_skip_live_ones(t):
    ids = [create(t, CLOCK_MONOTONIC)[1] for _ in range(3)]
    assert ids == [0, 1, 2]
    assert call(t, "timer_delete", 1) == 0
    assert create(t, CLOCK_MONOTONIC)[1] == 3   # not 1: Linux's next_posix_timer_id
    t.process.next_timer_id = 2**31 - 1
    assert create(t, CLOCK_MONOTONIC)[1] == 2**31 - 1
    assert create(t, CLOCK_MONOTONIC)[1] == 1   # wrapped; 0 is taken
    assert call(t, "timer_delete", 1) == 0
    assert call(t, "timer_delete", 1) == -EINVAL


def test_null_sigevent_is_sigalrm_with_the_id_as_value(t):
    r, tid = create(t, CLOCK_MONOTONIC)
    timer = t.process.posix_timers[tid]
    assert (timer.signo, timer.value, timer.notify) == (S.SIGALRM, tid, 0)


def test_sigevent_checks(t):
    assert create(t, CLOCK_MONOTONIC, sigevent(0, 0))[0] == -EINVAL
    assert create(t, CLOCK_MONOTONIC, sigevent(0, 65))[0] == -EINVAL
    assert create(t, CLOCK_MONOTONIC, sigevent(0, 64))[0] == 0
    assert create(t, CLOCK_MONOTONIC, sigevent(SIGEV_NONE, 0))[0] == 0
    assert create(t, CLOCK_MONOTONIC, sigevent(SIGEV_THREAD_ID, SIGRT, tid=50))[0] == 0
    assert create(t, CLOCK_MONOTONIC, sigevent(SIGEV_THREAD_ID, SIGRT, tid=51))[0] == -EINVAL
    assert create(t, CLOCK_MONOTONIC, sigevent(3, SIGRT))[0] == -EINVAL
    assert call(t, "timer_create", CLOCK_MONOTONIC, 8, t.buf) == -EFAULT
    assert call(t, "timer_create", CLOCK_MONOTONIC, 0, 8) == -EFAULT


def test_siginfo_layout_of_a_timer_signal():
    info = dict(code=SI_TIMER, tid=7, overrun=3, value=0x1122334455667788)
    buf = pack_siginfo(SIGRT, info)
    assert struct.unpack_from("<iii", buf, 0) == (SIGRT, 0, -2)
    assert struct.unpack_from("<iiQ", buf, 16) == (7, 3, 0x1122334455667788)
    # Whatever the signal: SI_TIMER decides the layout.
    assert struct.unpack_from("<ii", pack_siginfo(S.SIGCHLD, info), 16) == (7, 3)


def _driven(t, interval, value, notify=0):
    """A timer whose clock is ``clock[0]`` (set by the test)."""
    r, tid = create(t, CLOCK_MONOTONIC, sigevent(notify, SIGRT, value=99))
    timer = t.process.posix_timers[tid]
    clock = [0]
    timer.now = lambda: clock[0]
    timer.set(interval, value, False)
    return tid, timer, clock


def test_periodic_overrun_is_counted_when_the_signal_is_taken(kernel, t):
    tid, timer, clock = _driven(t, 10, 10)
    clock[0] = 10
    timer._expire()
    assert t.process.pending_signals & (1 << (SIGRT - 1))
    assert not timer.active and timer.requeue        # not rearmed while pending
    clock[0] = 55
    assert gettime(t, tid)[1:] == (10, 5)            # pending: expiry moved past now
    assert call(t, "timer_getoverrun", tid) == 0
    info = kernel.dequeue_signal(t, SIGRT)
    assert (info["code"], info["tid"], info["value"], info["overrun"]) == (SI_TIMER, tid, 99, 4)
    assert call(t, "timer_getoverrun", tid) == 4
    assert timer.active and timer.expiry == 60
    assert not t.process.pending_signals
    clock[0] = 60
    timer._expire()
    clock[0] = 10**12
    assert kernel.dequeue_signal(t, SIGRT)["overrun"] == DELAYTIMER_MAX
    assert call(t, "timer_getoverrun", tid) == DELAYTIMER_MAX


def test_one_pending_instance_per_timer_and_drop_on_settime_and_delete(kernel, t):
    tid, timer, clock = _driven(t, 0, 10)
    clock[0] = 10
    timer._expire()
    assert len(t.process.siginfo[SIGRT]) == 1
    assert gettime(t, tid)[1:] == (0, 0)              # a fired one-shot reads as disarmed
    settime(t, tid, 0, 100)                           # the old setting's signal goes
    assert SIGRT not in t.process.siginfo and not t.process.pending_signals
    timer.now = lambda: clock[0]
    timer.set(0, 10, True)
    timer._expire()
    assert len(t.process.siginfo[SIGRT]) == 1
    assert call(t, "timer_delete", tid) == 0
    assert not t.process.pending_signals


def test_ignored_periodic_signal_keeps_counting(kernel, t):
    t.process.sigactions[SIGRT].handler = S.SIG_IGN
    tid, timer, clock = _driven(t, 10**6, 10**6)
    clock[0] = 10**6
    timer._expire()
    assert not t.process.pending_signals
    assert timer.active and timer.expiry > clock[0]   # rearmed for a later handler
    t.process.sigactions[SIGRT].handler = S.SIG_DFL


def test_sigev_none_never_signals_and_reads_zero_once_expired(t):
    tid, timer, clock = _driven(t, 0, 10, notify=SIGEV_NONE)
    assert not timer.active
    assert gettime(t, tid)[1:] == (0, 10)
    clock[0] = 11
    assert gettime(t, tid)[1:] == (0, 0)
    assert not t.process.pending_signals


def test_cpu_clock_timers_are_charged_with_the_itimers(kernel, t):
    r, tid = create(t, CLOCK_PROCESS_CPUTIME_ID, sigevent(0, SIGRT))
    assert settime(t, tid, 0, 5_000_000) == 0
    assert t.process.itimers            # the kernel loop charges this process now
    kernel.charge_itimers(t.process, 1_000_000)
    assert not t.process.pending_signals
    t.utime_ns += 6_000_000
    kernel.charge_itimers(t.process, 6_000_000)
    assert t.process.pending_signals & (1 << (SIGRT - 1))
    assert POSIX_CPU not in t.process.itimers


def test_exit_timers_at_exec_and_exit(t):
    create(t, CLOCK_PROCESS_CPUTIME_ID)
    r, tid = create(t, CLOCK_MONOTONIC)
    settime(t, 0, 0, 10**9)
    settime(t, tid, 0, 10**9)
    timer = t.process.posix_timers[tid]
    assert timer.timer.armed and t.process.itimers
    exit_timers(t.process)
    assert t.process.posix_timers == {} and not timer.timer.armed
    assert POSIX_CPU not in t.process.itimers
    assert call(t, "timer_gettime", tid, t.buf) == -EINVAL


def test_huge_values_saturate_and_do_not_expire(t):
    import time
    r, tid = create(t, CLOCK_MONOTONIC, sigevent(0, SIGRT))
    assert settime(t, tid, 0, (2**63 - 1) * 10**9) == 0     # tv_sec = LLONG_MAX
    left = gettime(t, tid)[2]
    assert 2**63 - 10**12 * 10**9 < left < 2**63            # KTIME_MAX - uptime (Linux)
    timer = t.process.posix_timers[tid]
    assert timer.timer.deadline - time.monotonic() > 10**9   # s; the scheduler caps its waits
    t.kernel.sched.poll(0)                                   # (the host's poll takes < 2**31 ms)
    assert timer.active and not t.process.pending_signals
