/* Scheduling policy, capabilities, mlock, mincore, membarrier and I/O
 * priorities: results and errnos of success and error paths, as raw
 * syscalls.  Run as root.  Only host-independent facts are printed: single
 * capability bits that root has (not the whole mask, which depends on the
 * kernel and the container), the membarrier commands we support (not the
 * whole QUERY mask), a fair policy's rr interval as "below 100 ms" (Linux
 * gives its slice in whole jiffies), and RLIMIT_MEMLOCK / RLIMIT_RTPRIO /
 * RLIMIT_NICE set explicitly before they matter.  Changes happen in forked
 * children, which print and exit. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define R(name, expr) do { errno = 0; long _r = (long)(expr); \
    printf("%s: ret=%ld errno=%d\n", name, _r, _r < 0 ? errno : 0); } while (0)

struct cap_hdr { uint32_t version; int pid; };
struct cap_data { uint32_t eff, perm, inh; };
#define V1 0x19980330
#define V3 0x20080522
#define NOPID 0x3ffffff0
#define PG 4096

static long sc(long n, long a, long b, long c) { return syscall(n, a, b, c); }

static void wait_child(const char *what, pid_t pid) {
    int st;
    waitpid(pid, &st, 0);
    printf("%s child: exited=%d status=%d\n", what, WIFEXITED(st), WEXITSTATUS(st));
    fflush(stdout);
}

static int capget3(struct cap_data d[2]) {
    struct cap_hdr h = {V3, 0};
    memset(d, 0, 2 * sizeof *d);
    return sc(SYS_capget, (long)&h, (long)d, 0);
}

static int capset3(struct cap_data d[2]) {
    struct cap_hdr h = {V3, 0};
    return sc(SYS_capset, (long)&h, (long)d, 0);
}

static void lim(int r, long v) {
    struct rlimit l = {v, v};
    setrlimit(r, &l);
}

static void sched(void) {
    int pol[] = {0, 1, 2, 3, 5, 6, 4, -1, 42};
    for (unsigned i = 0; i < sizeof pol / sizeof *pol; i++) {
        errno = 0;
        long mx = sc(SYS_sched_get_priority_max, pol[i], 0, 0);
        int e1 = errno; errno = 0;
        long mn = sc(SYS_sched_get_priority_min, pol[i], 0, 0);
        printf("prio range policy %d: max=%ld/%d min=%ld/%d\n", pol[i], mx, e1, mn, errno);
    }
    int prm = -1;
    R("getscheduler self", sc(SYS_sched_getscheduler, 0, 0, 0));
    R("getscheduler pid", sc(SYS_sched_getscheduler, getpid(), 0, 0));
    R("getscheduler -1", sc(SYS_sched_getscheduler, -1, 0, 0));
    R("getscheduler nopid", sc(SYS_sched_getscheduler, NOPID, 0, 0));
    R("getparam self", sc(SYS_sched_getparam, 0, (long)&prm, 0));
    printf("param=%d\n", prm);
    R("getparam NULL", sc(SYS_sched_getparam, 0, 0, 0));
    R("getparam efault", sc(SYS_sched_getparam, 0, 8, 0));
    R("getparam nopid", sc(SYS_sched_getparam, NOPID, (long)&prm, 0));
    struct timespec ts = {7, 7};
    R("rr_interval other", sc(SYS_sched_rr_get_interval, 0, (long)&ts, 0));
    printf("other slice: sec=%ld below100ms=%d\n", (long)ts.tv_sec, ts.tv_nsec < 100000000);
    R("rr_interval -1", sc(SYS_sched_rr_get_interval, -1, (long)&ts, 0));
    R("rr_interval nopid", sc(SYS_sched_rr_get_interval, NOPID, (long)&ts, 0));
    R("rr_interval efault", sc(SYS_sched_rr_get_interval, 0, 8, 0));

    pid_t pid = fork();
    if (pid == 0) {
        int p;
        p = 10; R("set FIFO 10", sc(SYS_sched_setscheduler, 0, 1, (long)&p));
        R("getscheduler", sc(SYS_sched_getscheduler, 0, 0, 0));
        p = 0; sc(SYS_sched_getparam, 0, (long)&p, 0); printf("param=%d\n", p);
        R("rr_interval fifo", sc(SYS_sched_rr_get_interval, 0, (long)&ts, 0));
        printf("fifo slice: %ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
        p = 20; R("set RR 20", sc(SYS_sched_setscheduler, 0, 2, (long)&p));
        R("rr_interval rr", sc(SYS_sched_rr_get_interval, 0, (long)&ts, 0));
        printf("rr slice: %ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
        p = 30; R("setparam 30", sc(SYS_sched_setparam, 0, (long)&p, 0));
        p = 0; sc(SYS_sched_getparam, 0, (long)&p, 0); printf("param=%d\n", p);
        p = 0; R("setparam RR 0", sc(SYS_sched_setparam, 0, (long)&p, 0));
        p = 5; R("set OTHER 5", sc(SYS_sched_setscheduler, 0, 0, (long)&p));
        p = 0; R("set FIFO 0", sc(SYS_sched_setscheduler, 0, 1, (long)&p));
        p = 100; R("set FIFO 100", sc(SYS_sched_setscheduler, 0, 1, (long)&p));
        p = -1; R("set FIFO -1", sc(SYS_sched_setscheduler, 0, 1, (long)&p));
        p = 0; R("set ISO", sc(SYS_sched_setscheduler, 0, 4, (long)&p));
        p = 0; R("set DEADLINE", sc(SYS_sched_setscheduler, 0, 6, (long)&p));
        p = 0; R("set -1", sc(SYS_sched_setscheduler, 0, -1, (long)&p));
        R("set NULL", sc(SYS_sched_setscheduler, 0, 0, 0));
        R("set efault", sc(SYS_sched_setscheduler, 0, 0, 8));
        p = 0; R("set nopid", sc(SYS_sched_setscheduler, NOPID, 0, (long)&p));
        p = 5; R("set RR|RESET_ON_FORK", sc(SYS_sched_setscheduler, 0, 2 | 0x40000000, (long)&p));
        R("getscheduler", sc(SYS_sched_getscheduler, 0, 0, 0));
        pid_t g = fork();
        if (g == 0) {
            p = 9;
            R("forked getscheduler", sc(SYS_sched_getscheduler, 0, 0, 0));
            sc(SYS_sched_getparam, 0, (long)&p, 0); printf("forked param=%d\n", p);
            _exit(0);
        }
        wait_child("reset-on-fork", g);
        p = 0; R("set BATCH", sc(SYS_sched_setscheduler, 0, 3, (long)&p));
        g = fork();
        if (g == 0) {
            R("forked getscheduler", sc(SYS_sched_getscheduler, 0, 0, 0));
            _exit(0);
        }
        wait_child("batch", g);
        p = 0; R("set IDLE", sc(SYS_sched_setscheduler, 0, 5, (long)&p));
        R("getscheduler", sc(SYS_sched_getscheduler, 0, 0, 0));
        lim(RLIMIT_RTPRIO, 0);
        lim(RLIMIT_NICE, 0);
        if (setuid(1000) != 0) printf("setuid failed\n");
        p = 1; R("user set FIFO", sc(SYS_sched_setscheduler, 0, 1, (long)&p));
        p = 0; R("user IDLE->OTHER", sc(SYS_sched_setscheduler, 0, 0, (long)&p));
        p = 0; R("user IDLE->IDLE", sc(SYS_sched_setscheduler, 0, 5, (long)&p));
        p = 0; R("user set parent", sc(SYS_sched_setscheduler, getppid(), 5, (long)&p));
        R("user getscheduler parent", sc(SYS_sched_getscheduler, getppid(), 0, 0));
        _exit(0);
    }
    wait_child("sched", pid);
}

static void caps(void) {
    struct cap_hdr h = {V3, 0};
    struct cap_data d[2];
    R("capget probe", sc(SYS_capget, (long)&h, 0, 0));
    h.version = 0xdeadbeef;
    R("capget bad version NULL", sc(SYS_capget, (long)&h, 0, 0));
    printf("version written=%#x\n", h.version);
    h.version = 0xdeadbeef;
    R("capget bad version", sc(SYS_capget, (long)&h, (long)d, 0));
    printf("version written=%#x\n", h.version);
    R("capget bad header", sc(SYS_capget, 8, (long)d, 0));
    h.version = V1; h.pid = 0;
    memset(d, 0xff, sizeof d);
    R("capget v1", sc(SYS_capget, (long)&h, (long)d, 0));
    printf("v1: setuid=%d ipc_lock=%d sys_nice=%d untouched=%#x\n", d[0].eff >> 7 & 1,
           d[0].eff >> 14 & 1, d[0].perm >> 23 & 1, d[1].eff);
    R("capget v3", capget3(d));
    printf("v3: eff sys_nice=%d perm sys_nice=%d\n", d[0].eff >> 23 & 1, d[0].perm >> 23 & 1);
    h.version = V3; h.pid = -1;
    R("capget pid -1", sc(SYS_capget, (long)&h, (long)d, 0));
    h.pid = NOPID;
    R("capget nopid", sc(SYS_capget, (long)&h, (long)d, 0));
    h.pid = getpid();
    R("capget own pid", sc(SYS_capget, (long)&h, (long)d, 0));
    h.pid = getppid();
    R("capget parent", sc(SYS_capget, (long)&h, (long)d, 0));
    capget3(d);
    h.pid = NOPID;
    R("capset other pid", sc(SYS_capset, (long)&h, (long)d, 0));
    h.version = 0xdeadbeef; h.pid = 0;
    R("capset bad version", sc(SYS_capset, (long)&h, (long)d, 0));

    pid_t pid = fork();
    if (pid == 0) {
        capget3(d);
        d[0].eff &= ~(1u << 23);
        R("drop eff sys_nice", capset3(d));
        capget3(d);
        printf("eff sys_nice=%d perm sys_nice=%d\n", d[0].eff >> 23 & 1, d[0].perm >> 23 & 1);
        lim(RLIMIT_RTPRIO, 0);
        int p = 1;
        R("set FIFO without sys_nice", sc(SYS_sched_setscheduler, 0, 1, (long)&p));
        d[0].eff |= 1u << 23;
        R("raise eff sys_nice", capset3(d));
        d[0].eff &= ~(1u << 23);
        d[0].perm &= ~(1u << 23);
        R("drop perm sys_nice", capset3(d));
        d[0].perm |= 1u << 23;
        R("raise perm sys_nice", capset3(d));
        d[0].perm &= ~(1u << 23);
        d[0].eff |= 1u << 23;
        R("eff beyond perm", capset3(d));
        _exit(0);
    }
    wait_child("capset", pid);
    pid = fork();
    if (pid == 0) {
        if (setuid(1000) != 0) printf("setuid failed\n");
        R("user capget", capget3(d));
        printf("user: eff=%#x/%#x perm=%#x/%#x\n", d[0].eff, d[1].eff, d[0].perm, d[1].perm);
        memset(d, 0, sizeof d);
        R("user capset none", capset3(d));
        d[0].eff = d[0].perm = 1u << 23;
        R("user capset raise", capset3(d));
        _exit(0);
    }
    wait_child("user caps", pid);
}

static void memlock(void) {
    char *p = mmap(0, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char v[8];
    R("mlock", mlock(p, PG));
    R("mlock unaligned", mlock(p + 1, 10));
    R("mlock 0", mlock(p, 0));
    R("mlock2 bad flags", sc(SYS_mlock2, (long)p, PG, 2));
    R("mlock2 onfault", sc(SYS_mlock2, (long)(p + 2 * PG), PG, 1));
    R("mincore", mincore(p, 4 * PG, v));
    printf("resident after mlock: %d %d %d %d\n", v[0], v[1], v[2], v[3]);
    R("munlock", munlock(p, 4 * PG));
    munmap(p + 3 * PG, PG);
    R("mlock hole", mlock(p, 4 * PG));
    R("munlock hole", munlock(p, 4 * PG));
    R("mlockall 0", mlockall(0));
    R("mlockall ONFAULT", mlockall(MCL_ONFAULT));
    R("mlockall 8", mlockall(8));
    R("mlockall CURRENT|ONFAULT", mlockall(MCL_CURRENT | MCL_ONFAULT));
    R("mlockall FUTURE|ONFAULT", mlockall(MCL_FUTURE | MCL_ONFAULT));
    R("munlockall", munlockall());

    pid_t pid = fork();
    if (pid == 0) {
        lim(RLIMIT_MEMLOCK, PG);
        if (setuid(1000) != 0) printf("setuid failed\n");
        R("user mlock 1 page", mlock(p, PG));
        R("user mlock 2 pages", mlock(p, 2 * PG));
        R("user mlock another", mlock(p + PG, PG));
        R("user munlock", munlock(p, PG));
        R("user mlock another", mlock(p + PG, PG));
        R("user mlockall CURRENT", mlockall(MCL_CURRENT | MCL_ONFAULT));
        munlockall();
        lim(RLIMIT_MEMLOCK, 0);
        R("user mlock no limit", mlock(p, PG));
        R("user mlockall no limit", mlockall(MCL_CURRENT));
        _exit(0);
    }
    wait_child("mlock", pid);
    munmap(p, 3 * PG);
}

static void residency(void) {
    char *q = mmap(0, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char v[8];
    memset(v, 9, sizeof v);
    q[0] = 1;
    q[2 * PG + 5] = 1;
    R("mincore", mincore(q, 4 * PG, v));
    printf("resident: %d %d %d %d\n", v[0], v[1], v[2], v[3]);
    memset(v, 9, sizeof v);
    R("mincore partial page", mincore(q, PG + 1, v));
    printf("resident: %d %d %d\n", v[0], v[1], v[2]);
    R("mincore 0", mincore(q, 0, v));
    R("mincore unaligned", mincore(q + 1, PG, v));
    R("mincore bad vec", mincore(q, PG, NULL));
    munmap(q + 3 * PG, PG);
    R("mincore hole", mincore(q, 4 * PG, v));
    R("mincore unmapped", mincore(q + 3 * PG, PG, v));
    munmap(q, 3 * PG);
}

static void barriers(void) {
    long q = sc(SYS_membarrier, 0, 0, 0);
    /* GLOBAL, PRIVATE_EXPEDITED + REGISTER, the SYNC_CORE pair. */
    printf("membarrier query has ours: %d\n", (q & 0x79) == 0x79);
    R("membarrier query flags", sc(SYS_membarrier, 0, 1, 0));
    R("membarrier global", sc(SYS_membarrier, 1, 0, 0));
    R("membarrier private unregistered", sc(SYS_membarrier, 8, 0, 0));
    R("membarrier sync_core unregistered", sc(SYS_membarrier, 32, 0, 0));
    R("membarrier register private", sc(SYS_membarrier, 16, 0, 0));
    R("membarrier private", sc(SYS_membarrier, 8, 0, 0));
    R("membarrier register sync_core", sc(SYS_membarrier, 64, 0, 0));
    R("membarrier sync_core", sc(SYS_membarrier, 32, 0, 0));
    R("membarrier private flags", sc(SYS_membarrier, 8, 1, 0));
    R("membarrier bad cmd", sc(SYS_membarrier, 1 << 20, 0, 0));
    R("membarrier cmd 3", sc(SYS_membarrier, 3, 0, 0));
}

static void ioprio(void) {
    R("ioprio_get self", sc(SYS_ioprio_get, 1, 0, 0));
    R("ioprio_get pid", sc(SYS_ioprio_get, 1, getpid(), 0));
    R("ioprio_get nopid", sc(SYS_ioprio_get, 1, NOPID, 0));
    R("ioprio_get bad which", sc(SYS_ioprio_get, 4, 0, 0));
    R("ioprio_get which 0", sc(SYS_ioprio_get, 0, 0, 0));
    pid_t pid = fork();
    if (pid == 0) {
        /* Two or more in the group (here: parent and child; under qemu the
         * test runner's too): unset ones count as the default, BE 4. */
        R("ioprio_get pgrp", sc(SYS_ioprio_get, 2, 0, 0));
        R("ioprio_set BE 4", sc(SYS_ioprio_set, 1, 0, 2 << 13 | 4));
        R("ioprio_get", sc(SYS_ioprio_get, 1, 0, 0));
        R("ioprio_set BE 8 (hint)", sc(SYS_ioprio_set, 1, 0, 2 << 13 | 8));
        R("ioprio_get", sc(SYS_ioprio_get, 1, 0, 0));
        R("ioprio_set IDLE 5", sc(SYS_ioprio_set, 1, 0, 3 << 13 | 5));
        R("ioprio_get", sc(SYS_ioprio_get, 1, 0, 0));
        R("ioprio_set RT 1", sc(SYS_ioprio_set, 1, 0, 1 << 13 | 1));
        R("ioprio_get", sc(SYS_ioprio_get, 1, 0, 0));
        R("ioprio_set NONE 1", sc(SYS_ioprio_set, 1, 0, 1));
        R("ioprio_set class 4", sc(SYS_ioprio_set, 1, 0, 4 << 13));
        R("ioprio_set class 7", sc(SYS_ioprio_set, 1, 0, 7 << 13));
        R("ioprio_set bad which", sc(SYS_ioprio_set, 9, 0, 2 << 13));
        R("ioprio_set nopid", sc(SYS_ioprio_set, 1, NOPID, 2 << 13));
        R("ioprio_set BE 2", sc(SYS_ioprio_set, 1, 0, 2 << 13 | 2));
        pid_t g = fork();
        if (g == 0) {
            R("forked ioprio_get", sc(SYS_ioprio_get, 1, 0, 0));
            _exit(0);
        }
        wait_child("ioprio fork", g);
        R("ioprio_set NONE", sc(SYS_ioprio_set, 1, 0, 0));
        R("ioprio_get", sc(SYS_ioprio_get, 1, 0, 0));
        if (setuid(1000) != 0) printf("setuid failed\n");
        R("user ioprio_set RT", sc(SYS_ioprio_set, 1, 0, 1 << 13 | 1));
        R("user ioprio_set parent", sc(SYS_ioprio_set, 1, getppid(), 2 << 13));
        R("user ioprio_set self", sc(SYS_ioprio_set, 1, 0, 2 << 13 | 7));
        R("ioprio_get", sc(SYS_ioprio_get, 1, 0, 0));
        _exit(0);
    }
    wait_child("ioprio", pid);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    sched();
    caps();
    memlock();
    residency();
    barriers();
    ioprio();
    return 0;
}
