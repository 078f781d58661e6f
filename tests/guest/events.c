/* eventfd2, timerfd, signalfd4 and epoll: deterministic lines. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long r(long v) { return v < 0 ? -errno : v; }

static void test_eventfd(void) {
    uint64_t v;
    int fd = eventfd(3, EFD_NONBLOCK);
    v = 0; long n = read(fd, &v, 8);
    printf("eventfd read n=%ld v=%llu\n", n, (unsigned long long)v);
    printf("eventfd empty read=%ld\n", r(read(fd, &v, 8)));
    v = 5; write(fd, &v, 8); v = 2; write(fd, &v, 8);
    printf("eventfd short read=%ld\n", r(read(fd, &v, 4)));
    v = 0; read(fd, &v, 8);
    printf("eventfd sum=%llu\n", (unsigned long long)v);
    v = 0xffffffffffffffffULL;
    printf("eventfd write max=%ld\n", r(write(fd, &v, 8)));
    v = 0xfffffffffffffffeULL;
    printf("eventfd write fill=%ld\n", r(write(fd, &v, 8)));
    v = 1;
    printf("eventfd overflow=%ld\n", r(write(fd, &v, 8)));
    printf("eventfd short write=%ld\n", r(write(fd, &v, 4)));
    close(fd);

    fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    printf("eventfd cloexec=%d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC);
    for (int i = 0; i < 3; i++) {
        v = 0; long k = r(read(fd, &v, 8));
        printf("sem read %d: %ld v=%llu\n", i, k, (unsigned long long)v);
    }
    close(fd);
    printf("eventfd bad flags=%ld\n", r(eventfd(0, 0x40)));

    /* blocking read woken by a child's write */
    fd = eventfd(0, 0);
    pid_t c = fork();
    if (c == 0) { usleep(20000); v = 9; write(fd, &v, 8); _exit(0); }
    v = 0; read(fd, &v, 8);
    waitpid(c, NULL, 0);
    printf("eventfd blocking read v=%llu\n", (unsigned long long)v);
    close(fd);
}

static void test_timerfd(void) {
    uint64_t v;
    printf("timerfd bad clock=%ld\n", r(timerfd_create(5, 0)));
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec its = {0}, cur;
    timerfd_gettime(fd, &cur);
    printf("timerfd disarmed=%ld/%ld\n", (long)cur.it_value.tv_sec, (long)cur.it_value.tv_nsec);
    its.it_value.tv_nsec = 30 * 1000000;
    timerfd_settime(fd, 0, &its, NULL);
    timerfd_gettime(fd, &cur);
    printf("timerfd armed remaining ok=%d\n",
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 30000000);
    v = 0; read(fd, &v, 8);
    printf("timerfd oneshot count=%llu\n", (unsigned long long)v);
    timerfd_gettime(fd, &cur);
    printf("timerfd after=%ld/%ld\n", (long)cur.it_value.tv_sec, (long)cur.it_value.tv_nsec);

    its.it_value.tv_nsec = 10 * 1000000;
    its.it_interval.tv_nsec = 10 * 1000000;
    timerfd_settime(fd, 0, &its, NULL);
    usleep(55000);
    v = 0; read(fd, &v, 8);
    printf("timerfd periodic count>=4: %d\n", v >= 4);
    v = 0; read(fd, &v, 8);
    printf("timerfd periodic next>=1: %d\n", v >= 1);
    struct itimerspec old;
    memset(&its, 0, sizeof its);
    timerfd_settime(fd, 0, &its, &old);
    printf("timerfd old interval=%ld\n", (long)old.it_interval.tv_nsec);
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    printf("timerfd disarmed read=%ld\n", r(read(fd, &v, 8)));

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int fd2 = timerfd_create(CLOCK_REALTIME, 0);
    memset(&its, 0, sizeof its);
    its.it_value = now;
    its.it_value.tv_nsec += 20000000;
    if (its.it_value.tv_nsec >= 1000000000) { its.it_value.tv_sec++; its.it_value.tv_nsec -= 1000000000; }
    printf("timerfd abstime set=%ld\n", r(timerfd_settime(fd2, TFD_TIMER_ABSTIME, &its, NULL)));
    v = 0; read(fd2, &v, 8);
    printf("timerfd abstime count=%llu\n", (unsigned long long)v);
    its.it_value.tv_nsec = 1000000000;
    printf("timerfd bad nsec=%ld\n", r(timerfd_settime(fd2, 0, &its, NULL)));
    printf("timerfd settime on eventfd=%ld\n",
           r(timerfd_settime(eventfd(0, 0), 0, &its, NULL)));
    close(fd); close(fd2);
}

static void test_signalfd(void) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK);
    struct signalfd_siginfo si[4];
    printf("signalfd empty=%ld\n", r(read(fd, si, sizeof si)));
    kill(getpid(), SIGUSR1);
    union sigval sv = {.sival_int = 1234};
    sigqueue(getpid(), SIGRTMIN, sv);
    printf("signalfd small=%ld\n", r(read(fd, si, 64)));
    long n = read(fd, si, sizeof si);
    printf("signalfd read=%ld\n", n);
    for (long i = 0; i < n / (long)sizeof si[0]; i++)
        printf("  signo=%u code=%d pid_ok=%d int=%d\n", si[i].ssi_signo, si[i].ssi_code,
               si[i].ssi_pid == (uint32_t)getpid(), si[i].ssi_int);
    sigset_t pend;
    sigpending(&pend);
    printf("signalfd pending after=%d\n", sigismember(&pend, SIGUSR1));

    /* blocking read: a child sends SIGUSR1 */
    int bfd = signalfd(-1, &mask, 0);
    pid_t c = fork();
    if (c == 0) { usleep(20000); kill(getppid(), SIGUSR1); _exit(0); }
    n = read(bfd, si, sizeof si);
    waitpid(c, NULL, 0);
    printf("signalfd blocking read=%ld signo=%u from_child=%d\n", n, si[0].ssi_signo,
           si[0].ssi_pid == (uint32_t)c);

    /* update the mask of an existing signalfd */
    sigset_t m2;
    sigemptyset(&m2);
    sigaddset(&m2, SIGRTMIN);
    printf("signalfd update=%d\n", signalfd(fd, &m2, 0) == fd);
    kill(getpid(), SIGUSR1);
    printf("signalfd masked out=%ld\n", r(read(fd, si, sizeof si)));
    n = read(bfd, si, sizeof si);
    printf("signalfd other=%ld signo=%u\n", n, si[0].ssi_signo);
    printf("signalfd on eventfd=%ld\n", r(signalfd(eventfd(0, 0), &m2, 0)));
    close(fd); close(bfd);
}

static void show(const char *what, int n, struct epoll_event *ev) {
    printf("%s n=%d", what, n);
    for (int i = 0; i < n; i++) printf(" [%llu:%#x]", (unsigned long long)ev[i].data.u64, ev[i].events);
    printf("\n");
}

static void test_epoll(void) {
    struct epoll_event ev, out[8];
    int p[2];
    char buf[16];
    pipe(p);
    int efd = eventfd(0, EFD_NONBLOCK);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    printf("epoll cloexec=%d\n", fcntl(ep, F_GETFD) & FD_CLOEXEC);
    ev.events = EPOLLIN; ev.data.u64 = 1;
    printf("ctl add pipe=%ld\n", r(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev)));
    printf("ctl add again=%ld\n", r(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev)));
    printf("ctl mod missing=%ld\n", r(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev)));
    printf("ctl del missing=%ld\n", r(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL)));
    printf("ctl self=%ld\n", r(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev)));
    printf("ctl badfd=%ld\n", r(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev)));
    printf("ctl not epoll=%ld\n", r(epoll_ctl(efd, EPOLL_CTL_ADD, p[0], &ev)));
    printf("ctl bad op=%ld\n", r(epoll_ctl(ep, 9, p[0], &ev)));
    int reg = open("/tmp/akuma_events_reg", O_CREAT | O_RDWR, 0600);
    printf("ctl regular=%ld\n", r(epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev)));
    close(reg);
    unlink("/tmp/akuma_events_reg");
    printf("wait maxevents0=%ld\n", r(epoll_wait(ep, out, 0, 0)));

    show("level empty", epoll_wait(ep, out, 8, 0), out);
    write(p[1], "ab", 2);
    show("level 1", epoll_wait(ep, out, 8, 0), out);
    show("level 2", epoll_wait(ep, out, 8, 0), out);
    read(p[0], buf, sizeof buf);

    ev.events = EPOLLIN | EPOLLOUT; ev.data.u64 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    show("eventfd out", epoll_wait(ep, out, 8, 0), out);
    uint64_t v = 1;
    write(efd, &v, 8);
    show("eventfd in", epoll_wait(ep, out, 8, 0), out);
    read(efd, &v, 8);
    epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL);

    /* edge-triggered */
    ev.events = EPOLLIN | EPOLLET; ev.data.u64 = 3;
    printf("ctl mod et=%ld\n", r(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev)));
    show("et empty", epoll_wait(ep, out, 8, 0), out);
    write(p[1], "x", 1);
    show("et 1", epoll_wait(ep, out, 8, 0), out);
    show("et 2", epoll_wait(ep, out, 8, 0), out);
    read(p[0], buf, sizeof buf);
    show("et drained", epoll_wait(ep, out, 8, 0), out);
    write(p[1], "y", 1);
    show("et again", epoll_wait(ep, out, 8, 0), out);
    show("et again 2", epoll_wait(ep, out, 8, 0), out);
    read(p[0], buf, sizeof buf);

    /* oneshot */
    ev.events = EPOLLIN | EPOLLONESHOT; ev.data.u64 = 4;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    write(p[1], "z", 1);
    show("oneshot 1", epoll_wait(ep, out, 8, 0), out);
    show("oneshot 2", epoll_wait(ep, out, 8, 0), out);
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    show("oneshot rearmed", epoll_wait(ep, out, 8, 0), out);
    read(p[0], buf, sizeof buf);

    /* timeouts */
    ev.events = EPOLLIN; ev.data.u64 = 5;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int n = epoll_wait(ep, out, 8, 30);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("timeout n=%d waited>=25ms=%d\n", n, ms >= 25);
    struct timespec ts = {0, 20000000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    n = syscall(441, ep, out, 8, &ts, NULL, 8);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("pwait2 n=%d waited>=15ms=%d\n", n, ms >= 15);

    /* inherited by a forked child; blocking wait woken by the parent */
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    pid_t c = fork();
    if (c == 0) {
        n = epoll_wait(ep, out, 8, 5000);
        show("child", n, out);
        n = read(p[0], buf, sizeof buf);
        printf("child read=%d\n", n);
        fflush(stdout);
        _exit(0);
    }
    usleep(20000);
    write(p[1], "hi", 2);
    int st;
    waitpid(c, &st, 0);
    printf("child status=%d\n", WEXITSTATUS(st));

    /* timerfd under epoll, blocking wait */
    ev.events = EPOLLIN; ev.data.u64 = 6;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    struct itimerspec its = {{0, 0}, {0, 20000000}};
    timerfd_settime(tfd, 0, &its, NULL);
    show("timerfd wait", epoll_wait(ep, out, 8, -1), out);
    read(tfd, &v, 8);
    epoll_ctl(ep, EPOLL_CTL_DEL, tfd, NULL);

    /* hangup */
    close(p[1]);
    show("hup", epoll_wait(ep, out, 8, 0), out);
    close(p[0]);
    show("closed", epoll_wait(ep, out, 8, 0), out);
    close(ep);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_eventfd();
    test_timerfd();
    test_signalfd();
    test_epoll();
    printf("done\n");
    return 0;
}
