/* select/pselect over pipes: readiness, write readiness, the timeout and
   its write-back (pselect6 directly), EBADF, EINTR, and pselect's mask. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int got;
static void on_usr1(int s) { (void)s; got++; }

int main(void) {
    int p[2];
    pipe(p);
    fd_set r, w;
    struct timeval tv = {0, 0};
    FD_ZERO(&r); FD_SET(p[0], &r);
    FD_ZERO(&w); FD_SET(p[1], &w);
    int n = select(p[1] + 1, &r, &w, NULL, &tv);
    printf("empty pipe: n=%d r=%d w=%d\n", n, FD_ISSET(p[0], &r), FD_ISSET(p[1], &w));

    write(p[1], "x", 1);
    FD_ZERO(&r); FD_SET(p[0], &r);
    n = select(p[0] + 1, &r, NULL, NULL, NULL);
    printf("data: n=%d r=%d\n", n, FD_ISSET(p[0], &r));

    char c;
    read(p[0], &c, 1);
    struct timespec ts = {0, 50 * 1000 * 1000};
    FD_ZERO(&r); FD_SET(p[0], &r);
    long args[2] = {0, 8};
    n = syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, args);
    printf("timeout: n=%d r=%d left=%ld.%09ld\n", n, FD_ISSET(p[0], &r), (long)ts.tv_sec,
           ts.tv_nsec);

    FD_ZERO(&r); FD_SET(20, &r);
    tv.tv_sec = 0; tv.tv_usec = 0;
    n = select(21, &r, NULL, NULL, &tv);
    printf("closed fd: n=%d errno=%d\n", n, n < 0 ? errno : 0);

    /* EINTR from a handled signal, and pselect's mask letting it in. */
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, empty;
    sigemptyset(&block); sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, NULL);
    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    FD_ZERO(&r); FD_SET(p[0], &r);
    n = pselect(p[0] + 1, &r, NULL, NULL, NULL, &empty);
    printf("pselect with mask: n=%d errno=%d handled=%d\n", n, n < 0 ? errno : 0, got);
    waitpid(child, NULL, 0);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("mask restored: %d\n", sigismember(&now, SIGUSR1));

    close(p[1]);
    FD_ZERO(&r); FD_SET(p[0], &r);
    n = select(p[0] + 1, &r, NULL, NULL, NULL);
    printf("writer closed: n=%d r=%d\n", n, FD_ISSET(p[0], &r));
    return 0;
}
