/* Process benchmarks: `fork N` (fork+_exit+wait), `exec N`
 * (fork+execve(self noop)+wait), `pingpong N` (a byte bounced between two
 * processes through two pipes: 2N context switches), `threads N`
 * (pthread_create+join), `futex N` (a token passed between two threads with
 * FUTEX_WAIT/FUTEX_WAKE: 2N wake-ups). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <linux/futex.h>
#include <sys/syscall.h>

static void *nothing(void *a) { return a; }
static atomic_int word;
static long rounds;

static void futex_wait(int v) { syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, v, NULL); }
static void futex_wake(void) { syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1); }

/* Two threads hand a token back and forth: word even = main's turn. */
static void *ponger(void *a) {
    (void)a;
    for (long i = 0; i < rounds; i++) {
        while (atomic_load(&word) != 2 * i + 1) futex_wait(2 * i);
        atomic_store(&word, 2 * i + 2);
        futex_wake();
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "noop") == 0) return 0;
    const char *mode = argc > 1 ? argv[1] : "fork";
    long n = argc > 2 ? atol(argv[2]) : 1000;
    if (strcmp(mode, "fork") == 0 || strcmp(mode, "exec") == 0) {
        for (long i = 0; i < n; i++) {
            pid_t p = fork();
            if (p == 0) {
                if (mode[0] == 'e') {
                    char *args[] = {argv[0], "noop", NULL};
                    execve(argv[0], args, NULL);
                }
                _exit(0);
            }
            int st;
            if (waitpid(p, &st, 0) != p || st != 0) { printf("bad child\n"); return 1; }
        }
    } else if (strcmp(mode, "threads") == 0) {
        for (long i = 0; i < n; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, nothing, NULL) || pthread_join(t, NULL)) return 1;
        }
    } else if (strcmp(mode, "futex") == 0) {
        rounds = n;
        pthread_t t;
        pthread_create(&t, NULL, ponger, NULL);
        for (long i = 0; i < n; i++) {
            atomic_store(&word, 2 * i + 1);
            futex_wake();
            while (atomic_load(&word) != 2 * i + 2) futex_wait(2 * i + 1);
        }
        pthread_join(t, NULL);
    } else if (strcmp(mode, "pingpong") == 0) {
        int a[2], b[2];
        if (pipe(a) || pipe(b)) return 1;
        char c = 'x';
        pid_t p = fork();
        if (p == 0) {
            for (long i = 0; i < n; i++) {
                if (read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1) _exit(1);
            }
            _exit(0);
        }
        for (long i = 0; i < n; i++) {
            if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1) return 1;
        }
        waitpid(p, NULL, 0);
    } else if (strcmp(mode, "pipebulk") == 0) {
        /* n MiB through a pipe in 1 MiB writes; the reader reads 1 MiB at a time. */
        int a[2];
        if (pipe(a)) return 1;
        static char buf[1 << 20];
        pid_t p = fork();
        if (p == 0) {
            close(a[1]);
            long got = 0;
            ssize_t r;
            while ((r = read(a[0], buf, sizeof buf)) > 0) got += r;
            _exit(got == n * (long)sizeof buf ? 0 : 1);
        }
        close(a[0]);
        memset(buf, 'x', sizeof buf);
        for (long i = 0; i < n; i++)
            if (write(a[1], buf, sizeof buf) != (ssize_t)sizeof buf) return 1;
        close(a[1]);
        int st;
        waitpid(p, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st)) return 1;
    } else if (strcmp(mode, "pollpong") == 0 || strcmp(mode, "epollpong") == 0) {
        /* Ping-pong where each side waits in poll/epoll before reading. */
        int use_epoll = mode[0] == 'e';
        int a[2], b[2];
        if (pipe(a) || pipe(b)) return 1;
        char c = 'x';
        pid_t p = fork();
        int rfd = p == 0 ? a[0] : b[0], wfd = p == 0 ? b[1] : a[1];
        int ep = -1;
        if (use_epoll) {
            ep = epoll_create1(0);
            struct epoll_event ev = {.events = EPOLLIN, .data.fd = rfd};
            epoll_ctl(ep, EPOLL_CTL_ADD, rfd, &ev);
        }
        for (long i = 0; i < n; i++) {
            if (p != 0 && write(wfd, &c, 1) != 1) return 1;
            if (use_epoll) {
                struct epoll_event ev;
                if (epoll_wait(ep, &ev, 1, -1) != 1) return 1;
            } else {
                struct pollfd pfd = {.fd = rfd, .events = POLLIN};
                if (poll(&pfd, 1, -1) != 1) return 1;
            }
            if (read(rfd, &c, 1) != 1) return 1;
            if (p == 0 && write(wfd, &c, 1) != 1) _exit(1);
        }
        if (p == 0) _exit(0);
        waitpid(p, NULL, 0);
    }
    printf("%s %ld done\n", mode, n);
    return 0;
}
