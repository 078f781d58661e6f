/* Calls syscalls with random and hostile arguments (NULL, -1, wild and
 * kernel-range pointers, huge sizes, valid buffers) and prints how many
 * returned each class of result.  Calls that would end the program, block
 * for long, or destroy its own memory are left out.  The kernel must answer
 * every call with a result or -errno: its log must stay free of internal
 * errors. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t state;
static uint64_t rnd(void) {
    state ^= state << 13; state ^= state >> 7; state ^= state << 17;
    return state;
}

static const int skip[] = {
    SYS_exit, SYS_exit_group, SYS_clone, SYS_clone3, SYS_execve, SYS_execveat, SYS_kill,
    SYS_tkill, SYS_tgkill, SYS_rt_sigreturn, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo,
    SYS_reboot, SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_brk, SYS_madvise,
    SYS_nanosleep, SYS_clock_nanosleep, SYS_futex, SYS_ppoll, SYS_pselect6, SYS_epoll_pwait,
    SYS_rt_sigsuspend, SYS_rt_sigtimedwait, SYS_flock, SYS_fcntl, SYS_read, SYS_readv,
    SYS_pread64, SYS_preadv, SYS_wait4, SYS_waitid, SYS_rt_sigaction, SYS_setitimer,
    SYS_set_robust_list, SYS_set_tid_address, SYS_setuid, SYS_setresuid, SYS_setreuid,
    SYS_setgid, SYS_setresgid, SYS_setregid, SYS_setgroups, SYS_chroot, SYS_close,
    SYS_close_range, SYS_dup3, SYS_sigaltstack, SYS_rt_sigprocmask, SYS_prlimit64,
    SYS_setrlimit, SYS_timerfd_settime, SYS_unlinkat, SYS_renameat, SYS_renameat2,
    SYS_umount2, SYS_mount, SYS_write, SYS_writev, SYS_pwrite64, SYS_pwritev, SYS_sendfile,
    SYS_copy_file_range, SYS_ftruncate, SYS_truncate, SYS_fallocate, SYS_fchmod,
    SYS_fchmodat, SYS_fchownat, SYS_fchown, SYS_chdir, SYS_fchdir, SYS_sched_yield,
    SYS_epoll_pwait2, SYS_prctl, SYS_personality, SYS_setsid, SYS_setpgid, SYS_umask,
    SYS_getrandom,   /* writes as many bytes as asked: the pool would overflow */
    SYS_mincore,     /* one byte per page of a mapped range: the same */
#ifdef SYS_preadv2
    SYS_preadv2, SYS_pwritev2,
#endif
};

static int skipped(long nr) {
    for (unsigned i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (skip[i] == nr) return 1;
    return nr == 436 || nr == 440 || nr == 441;   /* close_range, process_madvise, epoll_pwait2 */
}

/* buf sits inside a larger pool: a pointer that runs off its end must hit
 * the pool, not libc's data (the kernel writes there legitimately). */
static char pool[8192 + 65536];
static char *const buf = pool;
#define BUF_SIZE 8192

static long arg(void) {
    switch (rnd() % 10) {
    case 0: return 0;
    case 1: return -1;
    case 2: return (long)buf;                    /* a valid buffer */
    case 3: return (long)(buf + BUF_SIZE - 3);   /* one that runs off its end */
    case 4: return rnd() % 64;                   /* small numbers, fds */
    case 5: return (long)0xffff000000000000UL;   /* kernel-range pointer */
    case 6: return (long)(rnd() & 0xffffffffffffUL);
    case 7: return 1L << (rnd() % 63);
    case 8: return (long)"/tmp";
    default: return (long)rnd();
    }
}

int main(int argc, char **argv) {
    state = argc > 1 ? strtoull(argv[1], 0, 0) : 88172645463325252ULL;
    long n = argc > 2 ? atol(argv[2]) : 20000;
    long ok = 0, err = 0, calls = 0;
    for (long i = 0; i < n; i++) {
        long nr = rnd() % 460;
        if (skipped(nr)) continue;
        memset(buf, 'A', BUF_SIZE);
        long r = syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
        calls++;
        if (r == -1) err++; else ok++;
    }
    printf("calls=%ld ok+err=%ld\n", calls, ok + err);
    return 0;
}
