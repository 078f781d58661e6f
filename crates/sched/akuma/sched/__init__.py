"""akuma.sched — threads' run queue, time slices, wait queues on host fds,
timers and sleeping.  The preemption tick itself is the CPU watchdog
(akuma.arch); this crate decides who runs next."""
from akuma.sched.scheduler import Scheduler, Timer, RUNNABLE, BLOCKED, ZOMBIE, STOPPED

__all__ = ["Scheduler", "Timer", "RUNNABLE", "BLOCKED", "ZOMBIE", "STOPPED"]
