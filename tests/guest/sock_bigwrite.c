/* Blocking sends on stream sockets larger than the socket buffers take
   every byte (the peer drains in small reads), on an AF_UNIX socketpair
   and on TCP over loopback, with write, writev and send; a signal that
   arrives after part of a send ends it with the count sent so far. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (4 << 20)

static void on_alarm(int sig) { (void)sig; }

static long drain(int fd) {
    char buf[1000];
    long total = 0, sum = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            sum += (unsigned char)buf[i];
        total += n;
    }
    return total * 1000 + sum % 1000;
}

/* A connected pair: AF_UNIX socketpair, or TCP through a loopback listener. */
static void pair(int tcp, int sv[2]) {
    if (!tcp) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) { perror("socketpair"); exit(1); }
        return;
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1) ||
        getsockname(ls, (struct sockaddr *)&a, &len)) { perror("listen"); exit(1); }
    sv[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(sv[0], (struct sockaddr *)&a, sizeof a)) { perror("connect"); exit(1); }
    sv[1] = accept(ls, NULL, NULL);
    close(ls);
}

static void big(int tcp, const char *data) {
    int sv[2];
    pair(tcp, sv);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        long r = drain(sv[1]);
        printf("%s reader: bytes=%ld checksum=%ld\n", tcp ? "tcp" : "unix", r / 1000, r % 1000);
        exit(0);
    }
    close(sv[1]);
    ssize_t n = write(sv[0], data, BIG);
    struct iovec iov[3] = {{(void *)data, 100000}, {(void *)(data + 100000), 300000},
                           {(void *)data, 5}};
    ssize_t m = writev(sv[0], iov, 3);
    ssize_t s = send(sv[0], data, BIG / 2, 0);
    close(sv[0]);
    int st;
    waitpid(pid, &st, 0);
    printf("%s write: ret=%zd writev: ret=%zd send: ret=%zd\n", tcp ? "tcp" : "unix", n, m, s);
}

static void interrupted(int tcp, int restart, const char *data) {
    int sv[2];
    pair(tcp, sv);
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    ssize_t n = write(sv[0], data, 64 << 20);   /* nobody reads: the buffers fill */
    /* How much fits depends on the kernel's buffer sizes: report the shape. */
    printf("%s interrupted send (%s): partial=%d errno=%d\n", tcp ? "tcp" : "unix",
           restart ? "SA_RESTART" : "no restart", n > 0 && n < (64 << 20), n < 0 ? errno : 0);
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    char *data = malloc(64 << 20);
    for (int i = 0; i < (64 << 20); i++)
        data[i] = (char)(i * 7);
    for (int tcp = 0; tcp < 2; tcp++) {
        big(tcp, data);
        interrupted(tcp, 0, data);
        interrupted(tcp, 1, data);
    }
    return 0;
}
