/* AF_UNIX socketpair: stream/dgram/seqpacket semantics, options, shutdown,
   EPIPE/SIGPIPE, poll/epoll masks, timeouts.  Deterministic lines. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long r(long v) { return v < 0 ? -errno : v; }
static volatile int sigpipes;
static void on_pipe(int s) { (void)s; sigpipes++; }

static int pmask(int fd, int events) {
    struct pollfd p = {fd, events, 0};
    poll(&p, 1, 0);
    return p.revents;
}

static int opt(int fd, int name) {
    int v = -7; socklen_t l = sizeof v;
    long rc = r(getsockopt(fd, SOL_SOCKET, name, &v, &l));
    return rc < 0 ? (int)rc : v;
}

static void stream(void) {
    int sv[2];
    char buf[64];
    printf("socketpair=%ld\n", r(socketpair(AF_UNIX, SOCK_STREAM, 0, sv)));
    struct stat st; fstat(sv[0], &st);
    printf("issock=%d type=%d domain=%d proto=%d acceptconn=%d err=%d\n", S_ISSOCK(st.st_mode),
           opt(sv[0], SO_TYPE), opt(sv[0], SO_DOMAIN), opt(sv[0], SO_PROTOCOL),
           opt(sv[0], SO_ACCEPTCONN), opt(sv[0], SO_ERROR));
    printf("sndbuf=%d rcvbuf=%d\n", opt(sv[0], SO_SNDBUF), opt(sv[0], SO_RCVBUF));
    int v = 10000; setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    printf("sndbuf set=%d\n", opt(sv[0], SO_SNDBUF));
    printf("fl=%#x\n", fcntl(sv[0], F_GETFL));
    printf("mask idle=%#x\n", pmask(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    for (int i = 0; i < 3; i++) {
        char m[16]; snprintf(m, sizeof m, "ping%d", i);
        write(sv[0], m, strlen(m));
        long n = read(sv[1], buf, sizeof buf);
        buf[n] = 0;
        write(sv[1], "pong", 4);
        long k = read(sv[0], buf + 32, 32);
        buf[32 + k] = 0;
        printf("round %d: %s %s\n", i, buf, buf + 32);
    }
    write(sv[0], "abc", 3); write(sv[0], "defgh", 5);
    int avail = -1; ioctl(sv[1], FIONREAD, &avail);
    printf("fionread=%d\n", avail);
    printf("mask data=%#x\n", pmask(sv[1], POLLIN | POLLOUT));
    long n = recv(sv[1], buf, 4, MSG_PEEK); buf[n] = 0;
    printf("peek=%ld %s\n", n, buf);
    n = recv(sv[1], buf, sizeof buf, 0); buf[n] = 0;
    printf("merged=%ld %s\n", n, buf);
    printf("empty dontwait=%ld\n", r(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)));
    /* readv/writev */
    struct iovec iv[2] = {{"hello ", 6}, {"world", 5}};
    printf("writev=%ld\n", r(writev(sv[0], iv, 2)));
    char a[3], b[20];
    struct iovec ov[2] = {{a, 3}, {b, 20}};
    n = readv(sv[1], ov, 2);
    printf("readv=%ld %.3s|%.*s\n", n, a, (int)n - 3, b);
    /* MSG_WAITALL gets everything a forked writer sends */
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 4; i++) { write(sv[0], "0123", 4); usleep(2000); }
        _exit(0);
    }
    n = recv(sv[1], buf, 16, MSG_WAITALL);
    printf("waitall=%ld\n", n);
    waitpid(pid, 0, 0);
    /* half close */
    printf("shutdown wr=%ld\n", r(shutdown(sv[0], SHUT_WR)));
    printf("mask after peer shut_wr=%#x\n", pmask(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    printf("read eof=%ld\n", r(read(sv[1], buf, sizeof buf)));
    printf("write other way=%ld\n", r(write(sv[1], "x", 1)));
    printf("read other way=%ld\n", r(read(sv[0], buf, 1)));
    printf("send after shut_wr nosig=%ld sigpipes=%d\n",
           r(send(sv[0], "x", 1, MSG_NOSIGNAL)), sigpipes);
    printf("send after shut_wr=%ld sigpipes=%d\n", r(write(sv[0], "x", 1)), sigpipes);
    printf("shutdown bad=%ld\n", r(shutdown(sv[0], 7)));
    close(sv[0]);
    printf("mask after close=%#x\n", pmask(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    printf("write to closed=%ld sigpipes=%d\n", r(write(sv[1], "x", 1)), sigpipes);
    close(sv[1]);
    /* close with unread data: ECONNRESET once, then EOF */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "lost", 4);
    close(sv[1]);
    printf("after reset: read=%ld read=%ld\n", r(read(sv[0], buf, 4)), r(read(sv[0], buf, 4)));
    close(sv[0]);
}

static void nonblock_fill(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
    printf("nb fl=%#x cloexec=%d\n", fcntl(sv[0], F_GETFL) & O_NONBLOCK,
           fcntl(sv[0], F_GETFD));
    static char big[65536];
    long total = 0, n;
    while ((n = write(sv[0], big, sizeof big)) > 0) total += n;
    printf("filled: err=%ld some=%d bounded=%d\n", r(n), total > 0, total < 4 * 1024 * 1024);
    printf("mask full=%#x\n", pmask(sv[0], POLLOUT));
    long got = 0;
    while ((n = read(sv[1], big, sizeof big)) > 0) got += n;
    printf("drained equal=%d err=%ld\n", got == total, r(n));
    printf("mask drained=%#x\n", pmask(sv[0], POLLOUT));
    close(sv[0]); close(sv[1]);
}

static void timeouts(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct timeval tv = {0, 30000};
    printf("rcvtimeo set=%ld\n", r(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)));
    struct timeval got; socklen_t l = sizeof got;
    getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &l);
    printf("rcvtimeo get=%ld.%06ld len=%d\n", (long)got.tv_sec, (long)got.tv_usec, (int)l);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    char c;
    long n = r(read(sv[0], &c, 1));
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("read timeout=%ld waited=%d\n", n, ms >= 25);
    n = r(recv(sv[0], &c, 1, 0));
    printf("recv timeout=%ld\n", n);
    tv.tv_usec = 2000000;
    printf("bad usec=%ld\n", r(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)));
    close(sv[0]); close(sv[1]);
}

static void dgram(int type, const char *name) {
    int sv[2];
    char buf[64];
    printf("%s pair=%ld\n", name, r(socketpair(AF_UNIX, type, 0, sv)));
    send(sv[0], "first", 5, 0);
    send(sv[0], "second!", 7, 0);
    send(sv[0], "", 0, 0);
    int avail = -1; ioctl(sv[1], FIONREAD, &avail);
    printf("%s fionread=%d\n", name, avail);
    long n = recv(sv[1], buf, 3, 0);
    printf("%s short=%ld %.3s\n", name, n, buf);
    struct iovec iv = {buf, 4};
    struct msghdr m = {0}; m.msg_iov = &iv; m.msg_iovlen = 1;
    n = recvmsg(sv[1], &m, MSG_PEEK);
    printf("%s peek=%ld flags=%#x\n", name, n, m.msg_flags);
    n = recv(sv[1], buf, 2, MSG_TRUNC);
    printf("%s trunc=%ld\n", name, n);
    n = recv(sv[1], buf, sizeof buf, 0);
    printf("%s empty=%ld\n", name, n);
    printf("%s nodata=%ld\n", name, r(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)));
    printf("%s mask=%#x\n", name, pmask(sv[0], POLLIN | POLLOUT | POLLRDHUP));
    struct sockaddr_un sa; socklen_t sl = sizeof sa;
    n = recvfrom(sv[1], buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&sa, &sl);
    printf("%s recvfrom=%ld\n", name, r(n));
    send(sv[1], "back", 4, 0);
    sl = sizeof sa; memset(&sa, 0x55, sizeof sa);
    n = recvfrom(sv[0], buf, sizeof buf, 0, (struct sockaddr *)&sa, &sl);
    printf("%s recvfrom=%ld addrlen=%d\n", name, n, (int)sl);
    printf("%s shutdown=%ld\n", name, r(shutdown(sv[0], SHUT_WR)));
    printf("%s send after shut=%ld sigpipes=%d\n", name, r(send(sv[0], "x", 1, 0)), sigpipes);
    printf("%s peer mask=%#x\n", name, pmask(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    close(sv[0]);
    printf("%s after close mask=%#x\n", name, pmask(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    printf("%s send to closed=%ld sigpipes=%d\n", name, r(send(sv[1], "x", 1, 0)), sigpipes);
    printf("%s recv closed=%ld\n", name, r(recv(sv[1], buf, 1, MSG_DONTWAIT)));
    close(sv[1]);
}

static void epolls(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN | EPOLLRDHUP, {.u32 = 7}};
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
    struct epoll_event out[4];
    printf("epoll idle=%d\n", epoll_wait(ep, out, 4, 0));
    pid_t pid = fork();
    if (pid == 0) { usleep(20000); write(sv[0], "z", 1); _exit(0); }
    int n = epoll_wait(ep, out, 4, 5000);
    printf("epoll wake=%d ev=%#x data=%u\n", n, n > 0 ? out[0].events : 0, n > 0 ? out[0].data.u32 : 0);
    waitpid(pid, 0, 0);
    char c; read(sv[1], &c, 1);
    close(sv[0]);
    n = epoll_wait(ep, out, 4, 1000);
    printf("epoll hup=%d ev=%#x\n", n, n > 0 ? out[0].events : 0);
    /* ET on a socket */
    int sp[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
    struct epoll_event et = {EPOLLIN | EPOLLET, {.u32 = 9}};
    epoll_ctl(ep, EPOLL_CTL_ADD, sp[1], &et);
    write(sp[0], "a", 1);
    printf("et first=%d\n", epoll_wait(ep, out, 4, 0) > 0 ? (int)out[0].data.u32 : -1);
    n = epoll_wait(ep, out, 4, 0);
    printf("et again=%d\n", n);
    write(sp[0], "b", 1);
    n = epoll_wait(ep, out, 4, 0);
    printf("et new data=%d\n", n);
    /* blocking poll woken by a writer */
    pid = fork();
    if (pid == 0) { usleep(20000); write(sp[0], "c", 1); _exit(0); }
    char tmp[8]; read(sp[1], tmp, 8);
    struct pollfd p = {sp[1], POLLIN, 0};
    n = poll(&p, 1, 5000);
    printf("poll wake=%d rev=%#x\n", n, p.revents);
    waitpid(pid, 0, 0);
    close(ep); close(sp[0]); close(sp[1]); close(sv[1]);
}

static void on_alarm(int s) { (void)s; }

static void interrupts(void) {
    int sv[2];
    char c;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, 0);
    printf("recv interrupted=%ld\n", r(recv(sv[0], &c, 1, 0)));
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, 0);
    pid_t pid = fork();
    if (pid == 0) { usleep(60000); write(sv[1], "r", 1); _exit(0); }
    setitimer(ITIMER_REAL, &it, 0);
    long n = r(recv(sv[0], &c, 1, 0));
    printf("recv restarted=%ld %c\n", n, n == 1 ? c : '-');
    waitpid(pid, 0, 0);
    close(sv[0]); close(sv[1]);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, on_pipe);
    stream();
    nonblock_fill();
    timeouts();
    dgram(SOCK_DGRAM, "dgram");
    dgram(SOCK_SEQPACKET, "seqpacket");
    epolls();
    interrupts();
    printf("done\n");
    return 0;
}
