"""The job table: each pipeline the shell starts is a job — its processes
share a process group — with a number for `%N`, `jobs`, `fg`, `kill`."""
from dataclasses import dataclass, field

RUNNING, STOPPED, DONE = "Running", "Stopped", "Done"


@dataclass
class Job:
    number: int
    pgid: int
    text: str
    pids: list = field(default_factory=list)     # in pipeline order
    statuses: dict = field(default_factory=dict)  # pid -> wait status once dead
    last_status: int = None    # the last command's exit code when it started no process
    stopped: bool = False
    background: bool = False
    notified: bool = False

    @property
    def done(self):
        return all(pid in self.statuses for pid in self.pids)

    @property
    def state(self):
        return DONE if self.done else STOPPED if self.stopped else RUNNING

    def exit_code(self):
        """The pipeline's status: its last command's."""
        if self.last_status is not None:
            return self.last_status
        if not self.pids:
            return 0
        return status_code(self.statuses.get(self.pids[-1], 0))


def status_code(status):
    """Wait status -> shell exit code (128+N for a signal, a stop too)."""
    if status & 0xFF == 0x7F:
        return 128 + ((status >> 8) & 0xFF)
    if status & 0x7F:
        return 128 + (status & 0x7F)
    return (status >> 8) & 0xFF


class JobTable:
    def __init__(self):
        self.jobs = {}

    def add(self, pgid, text, pids, background):
        number = 1
        while number in self.jobs:
            number += 1
        job = Job(number, pgid, text, list(pids), background=background)
        self.jobs[number] = job
        return job

    def by_pid(self, pid):
        for job in self.jobs.values():
            if pid in job.pids:
                return job
        return None

    def record(self, pid, status):
        """A child changed state (wait4's report); the job it belongs to."""
        job = self.by_pid(pid)
        if job is None:
            return None
        if status & 0xFF == 0x7F:
            job.stopped = True
        elif status == 0xFFFF:
            job.stopped = False
        else:
            job.statuses[pid] = status
        return job

    def get(self, spec):
        """A job by `%N`, `%%`/`%+` (the newest) or `%-`; None if unknown."""
        if not self.jobs:
            return None
        spec = spec.lstrip("%")
        if spec in ("", "%", "+"):
            return self.jobs[max(self.jobs)]
        if spec == "-":
            nums = sorted(self.jobs)
            return self.jobs[nums[-2] if len(nums) > 1 else nums[-1]]
        if spec.isdigit():
            return self.jobs.get(int(spec))
        for job in self.jobs.values():
            if job.text.startswith(spec):
                return job
        return None

    def remove(self, job):
        self.jobs.pop(job.number, None)

    def __iter__(self):
        return iter(sorted(self.jobs.values(), key=lambda j: j.number))


__all__ = ["Job", "JobTable", "status_code", "RUNNING", "STOPPED", "DONE"]
