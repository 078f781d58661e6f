/* CPU-time clocks count this process's (thread's) own CPU time: a busy
   loop counts, a sleep does not, a child's busy loop does not count for
   the parent waiting for it, readings move and never go back, and the
   clock_getcpuclockid clock of this process agrees. */
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t c) {
    struct timespec ts;
    if (clock_gettime(c, &ts)) return -1;
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void spin(unsigned long n) {
    volatile unsigned long x = 0;
    for (unsigned long i = 0; i < n; i++) x += i;
}

int main(void) {
    long long p0 = ns(CLOCK_PROCESS_CPUTIME_ID), t0 = ns(CLOCK_THREAD_CPUTIME_ID);
    spin(200000000UL);
    long long p1 = ns(CLOCK_PROCESS_CPUTIME_ID), t1 = ns(CLOCK_THREAD_CPUTIME_ID);
    struct timespec sl = {0, 200000000};
    nanosleep(&sl, NULL);
    long long p2 = ns(CLOCK_PROCESS_CPUTIME_ID);
    pid_t pid = fork();
    if (pid == 0) {
        spin(400000000UL);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    long long p3 = ns(CLOCK_PROCESS_CPUTIME_ID);
    clockid_t own;
    clock_getcpuclockid(getpid(), &own);
    long long o = ns(own);
    long long prev = ns(CLOCK_THREAD_CPUTIME_ID), moved = 0, back = 0;
    for (int i = 0; i < 100000; i++) {
        long long v = ns(CLOCK_THREAD_CPUTIME_ID);
        back += v < prev;
        moved += v > prev;
        prev = v;
    }
    struct timespec res;
    printf("busy loop counted: %d\n", p1 - p0 > 50000000);
    printf("sleep not counted: %d\n", p2 - p1 < 50000000);
    printf("child's loop not counted: %d\n", p3 - p2 < (p1 - p0) / 2);
    printf("thread <= process: %d\n", t1 - t0 <= p1 - p0 + 1000000);
    printf("pid clock agrees: %d\n", o >= p3);
    printf("monotonic: %d, moves: %d\n", back == 0, moved > 1000);
    printf("getres: %d\n", clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res) == 0 && res.tv_sec == 0);
    return 0;
}
