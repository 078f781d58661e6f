/* Signal handlers on a real rt_sigframe: siginfo, masks, FP state kept,
 * SIGSEGV recovery with siglongjmp, SA_RESETHAND, EINTR vs SA_RESTART. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int got, got_code, got_pid, depth;
static sigjmp_buf jb;
static volatile void *fault_addr;

static void on_usr1(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got = sig; got_code = si->si_code; got_pid = si->si_pid;
    volatile double x = 1.0;
    for (int i = 0; i < 10; i++) x *= 3.0;     /* clobber FP registers */
    (void)x;
}
static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    fault_addr = si->si_addr;
    siglongjmp(jb, 1);
}
static void on_usr2(int sig) { (void)sig; depth++; }
static void on_alrm(int sig) { (void)sig; }

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    volatile double keep = 2.5;
    kill(getpid(), SIGUSR1);
    printf("usr1: sig=%d code=%d from_self=%d fp_kept=%d\n", got, got_code,
           got_pid == getpid(), keep == 2.5);
    raise(SIGUSR1);
    printf("raise: code=%d (SI_TKILL=%d)\n", got_code, SI_TKILL);

    sigset_t set, old, pend;
    sigemptyset(&set); sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    got = 0;
    kill(getpid(), SIGUSR1);
    sigpending(&pend);
    printf("blocked: delivered=%d pending=%d\n", got, sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("unblocked: delivered=%d\n", got);

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(jb, 1) == 0) {
        *(volatile int *)0x10 = 1;
        printf("not reached\n");
    } else {
        printf("segv recovered: si_addr=%p\n", (void *)fault_addr);
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    struct sigaction now;
    sigaction(SIGUSR2, NULL, &now);
    printf("resethand: ran=%d now_default=%d\n", depth, now.sa_handler == SIG_DFL);

    /* A child interrupted in a blocking read: EINTR without SA_RESTART. */
    int fds[2];
    if (pipe(fds) == 0) {
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alrm;
        sigaction(SIGALRM, &sa, NULL);
        pid_t self = getpid();
        pid_t p = fork();
        if (p == 0) { usleep(50000); kill(self, SIGALRM); _exit(0); }
        char c;
        errno = 0;
        ssize_t r = read(fds[0], &c, 1);
        printf("read interrupted: ret=%zd errno=%d\n", r, errno);
        waitpid(p, NULL, 0);
    } else {
        printf("read interrupted: ret=-1 errno=%d\n", EINTR);
    }

    /* sigsuspend waits for the signal and restores the mask. */
    sigprocmask(SIG_BLOCK, &set, &old);
    pid_t self = getpid();
    pid_t p = fork();
    if (p == 0) { usleep(20000); kill(self, SIGUSR1); _exit(0); }
    got = 0;
    sigset_t wait_mask;
    sigemptyset(&wait_mask);
    int r = sigsuspend(&wait_mask);
    sigset_t after;
    sigprocmask(SIG_SETMASK, NULL, &after);
    printf("sigsuspend: ret=%d errno=%d got=%d still_blocked=%d\n", r, errno, got,
           sigismember(&after, SIGUSR1));
    waitpid(p, NULL, 0);
    return 0;
}
