"""futex(2): wait queues keyed by address.  Private futexes key on (address
space, virtual address); shared ones on the physical address, so processes
sharing memory meet.  A mixin of Kernel.

Blocking uses the kernel's restart model (the SVC runs again on wake); a
task woken by FUTEX_WAKE is marked so that the re-run returns 0 at once
instead of re-checking the word."""
import struct
import time

from akuma.abi import KernelError
from akuma.abi.errors import EAGAIN, EINVAL, ETIMEDOUT, EFAULT, ENOSYS
from akuma.mm import EFault, ACCESS_WRITE, KIND_ANON_SHARED

FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 2, 3, 4
FUTEX_WAKE_OP, FUTEX_LOCK_PI, FUTEX_UNLOCK_PI = 5, 6, 7
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
BITSET_ANY = 0xFFFFFFFF


class Futexes:
    def _futex_key(self, aspace, uaddr, private):
        """Linux's keys: only a futex in shared memory is keyed by what
        backs it (here the physical address); one in private memory is
        (address space, address) whether or not FUTEX_PRIVATE_FLAG was given
        — musl waits on its thread-list lock without the flag and the
        kernel's CLEARTID wake must find it."""
        if uaddr & 3:
            raise KernelError(EINVAL)
        vma = aspace.find(uaddr)
        if vma is None:
            raise KernelError(EFAULT)
        shared_file = vma.file is not None and vma.file.shared
        if private or (vma.kind != KIND_ANON_SHARED and not shared_file):
            return (id(aspace), uaddr)
        try:
            # (pages a file mapping's page in first: a futex in a file page
            # not touched yet is valid)
            return ("phys", aspace.translate(uaddr, ACCESS_WRITE))
        except EFault:
            raise KernelError(EFAULT) from None

    def _futex_word(self, aspace, uaddr):
        try:
            return struct.unpack("<I", aspace.read(uaddr, 4))[0]
        except EFault:
            raise KernelError(EFAULT) from None

    def futex_wait(self, t, uaddr, val, deadline, bitset, private):
        """0 when woken, -EAGAIN if the word is not ``val``, -ETIMEDOUT, or
        None (blocked)."""
        if bitset == 0:
            return -EINVAL
        state = getattr(t, "futex_state", None)
        if state is not None:
            # The re-run after a block.
            if state["woken"]:
                t.futex_state = None
                return 0
            if state["deadline"] is not None and time.monotonic() >= state["deadline"]:
                self._futex_unqueue(t)
                return -ETIMEDOUT
            self.sched.block(t, deadline=state["deadline"])
            return None
        aspace = t.process.aspace
        key = self._futex_key(aspace, uaddr, private)
        if self._futex_word(aspace, uaddr) != val & 0xFFFFFFFF:
            return -EAGAIN
        t.futex_state = {"key": key, "bitset": bitset, "woken": False, "deadline": deadline}
        self.futex_queues.setdefault(key, []).append(t)
        self.sched.block(t, deadline=deadline)
        return None

    def _futex_unqueue(self, t):
        state = getattr(t, "futex_state", None)
        t.futex_state = None
        if state is None:
            return
        q = self.futex_queues.get(state["key"])
        if q and t in q:
            q.remove(t)
            if not q:
                del self.futex_queues[state["key"]]

    def futex_wake(self, process, uaddr, n, bitset=BITSET_ANY, private=True, key=None):
        if key is None:
            key = self._futex_key(process.aspace, uaddr, private)
        q = self.futex_queues.get(key, [])
        woken = 0
        for w in list(q):
            if woken >= n:
                break
            if not w.futex_state["bitset"] & bitset:
                continue
            q.remove(w)
            w.futex_state["woken"] = True
            self.sched.wake(w)
            woken += 1
        if not q:
            self.futex_queues.pop(key, None)
        return woken

    def futex_requeue(self, t, uaddr, n_wake, n_requeue, uaddr2, cmp, private):
        aspace = t.process.aspace
        if cmp is not None and self._futex_word(aspace, uaddr) != cmp & 0xFFFFFFFF:
            return -EAGAIN
        key1 = self._futex_key(aspace, uaddr, private)
        key2 = self._futex_key(aspace, uaddr2, private)
        woken = self.futex_wake(t.process, uaddr, n_wake, key=key1)
        moved = 0
        q1 = self.futex_queues.get(key1, [])
        while q1 and moved < n_requeue:
            w = q1.pop(0)
            w.futex_state["key"] = key2
            self.futex_queues.setdefault(key2, []).append(w)
            moved += 1
        if not q1:
            self.futex_queues.pop(key1, None)
        return woken + moved

    def futex_wake_op(self, t, uaddr, n1, n2, uaddr2, op, private):
        aspace = t.process.aspace
        kind, cmp = (op >> 28) & 0xF, (op >> 24) & 0xF
        oparg, cmparg = (op >> 12) & 0xFFF, op & 0xFFF
        if kind & 8:
            kind &= 7
            oparg = 1 << oparg
        old = self._futex_word(aspace, uaddr2)
        new = {0: oparg, 1: old + oparg, 2: old | oparg, 3: old & ~oparg,
               4: old ^ oparg}.get(kind)
        if new is None:
            return -ENOSYS
        try:
            aspace.write(uaddr2, struct.pack("<I", new & 0xFFFFFFFF))
        except EFault:
            return -EFAULT
        s_old = old - (1 << 32) if old & 0x80000000 else old
        hit = {0: s_old == cmparg, 1: s_old != cmparg, 2: s_old < cmparg, 3: s_old <= cmparg,
               4: s_old > cmparg, 5: s_old >= cmparg}.get(cmp, False)
        woken = self.futex_wake(t.process, uaddr, n1, private=private)
        if hit:
            woken += self.futex_wake(t.process, uaddr2, n2, private=private)
        return woken
