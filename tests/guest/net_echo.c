/* TCP and UDP echo over 127.0.0.1 inside one process tree: a forked child
 * serves, the parent checks.  `net_echo tcp N` streams N bytes through a TCP
 * echo server; `net_echo udp` bounces datagrams; `net_echo nb` exercises a
 * non-blocking connect with poll and SO_ERROR.  Prints `ok ...` lines. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#define CHECK(x) do { if (!(x)) { printf("FAIL %s:%d %s errno=%d\n", __FILE__, __LINE__, #x, errno); exit(1); } } while (0)

static struct sockaddr_in lo(int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int tcp(long total) {
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    CHECK(setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    struct sockaddr_in a = lo(0);
    CHECK(bind(srv, (void *)&a, sizeof a) == 0);
    socklen_t len = sizeof a;
    CHECK(getsockname(srv, (void *)&a, &len) == 0 && a.sin_port != 0);
    CHECK(listen(srv, 4) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(srv, NULL, NULL);
        CHECK(c >= 0);
        static char buf[65536];
        ssize_t n;
        while ((n = read(c, buf, sizeof buf)) > 0) {
            ssize_t off = 0;
            while (off < n) { ssize_t w = write(c, buf + off, n - off); CHECK(w > 0); off += w; }
        }
        CHECK(n == 0);
        close(c);
        _exit(0);
    }
    close(srv);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
    CHECK(connect(s, (void *)&a, sizeof a) == 0);
    struct sockaddr_in peer; len = sizeof peer;
    CHECK(getpeername(s, (void *)&peer, &len) == 0 && peer.sin_port == a.sin_port);
    static char out[65536], in[65536];
    long sent = 0, got = 0; unsigned sum_out = 0, sum_in = 0;
    while (got < total) {
        if (sent < total) {
            long n = total - sent < (long)sizeof out ? total - sent : (long)sizeof out;
            for (long i = 0; i < n; i++) { out[i] = (char)(sent + i) * 7; sum_out += (unsigned char)out[i]; }
            ssize_t w = write(s, out, n);
            CHECK(w == n);
            sent += w;
            if (sent == total) CHECK(shutdown(s, SHUT_WR) == 0);
        }
        ssize_t r = read(s, in, sizeof in);
        CHECK(r > 0);
        for (ssize_t i = 0; i < r; i++) sum_in += (unsigned char)in[i];
        got += r;
    }
    CHECK(read(s, in, sizeof in) == 0);
    CHECK(sum_in == sum_out);
    int st; CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("ok tcp %ld\n", got);
    return 0;
}

static int udp(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = lo(0);
    CHECK(bind(a, (void *)&sa, sizeof sa) == 0);
    socklen_t len = sizeof sa;
    CHECK(getsockname(a, (void *)&sa, &len) == 0);
    for (int i = 0; i < 10; i++) {
        char msg[64]; int n = snprintf(msg, sizeof msg, "datagram %d", i);
        CHECK(sendto(b, msg, n, 0, (void *)&sa, sizeof sa) == n);
        int avail = 0; CHECK(ioctl(a, FIONREAD, &avail) == 0 && avail == n);
        char buf[64]; struct sockaddr_in from; socklen_t fl = sizeof from;
        CHECK(recvfrom(a, buf, sizeof buf, 0, (void *)&from, &fl) == n && memcmp(buf, msg, n) == 0);
        CHECK(sendto(a, buf, n, 0, (void *)&from, fl) == n);
        CHECK(recv(b, buf, sizeof buf, 0) == n);
    }
    char c;
    CHECK(recv(a, &c, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN);
    printf("ok udp\n");
    return 0;
}

static int nonblocking(void) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = lo(1);          /* nobody listens on port 1 */
    int r = connect(s, (void *)&a, sizeof a);
    CHECK(r == -1 && (errno == ECONNREFUSED || errno == EINPROGRESS));
    if (errno == EINPROGRESS) {
        struct pollfd p = {s, POLLOUT, 0};
        CHECK(poll(&p, 1, 5000) == 1);
        int err = 0; socklen_t el = sizeof err;
        CHECK(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == ECONNREFUSED);
    }
    printf("ok refused\n");
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "tcp")) return tcp(argc > 2 ? atol(argv[2]) : 1 << 20);
    if (argc > 1 && !strcmp(argv[1], "udp")) return udp();
    if (argc > 1 && !strcmp(argv[1], "nb")) return nonblocking();
    return 2;
}
