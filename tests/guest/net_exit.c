// Data at exit and SO_LINGER.
//   send-exit ADDR PORT BYTES  connect, write BYTES of the LCG stream (as net_peer's
//                              send_stream), print "wrote BYTES crc CRC", _exit(0) at once
//                              (no close, no shutdown: the kernel must still deliver)
//   linger SECS BYTES          loopback: a child server with a small SO_RCVBUF; the parent
//                              connects, sets SO_LINGER {1, SECS}, writes BYTES, close()s,
//                              then connects a second time.  SECS > 0 and the server reading:
//                              when the second connection arrives every byte and the FIN are
//                              already in the server's kernel (a non-blocking read reaches
//                              EOF).  With "stall" the server reads nothing until then: close
//                              returns after the timeout and (as Linux) the orphan still
//                              delivers everything.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "FAIL %s:%d: %s (errno %d)\n", __FILE__, __LINE__, #x, errno); exit(1); } } while (0)

static unsigned crc_table[256];

static unsigned crc32_update(unsigned crc, const unsigned char *p, size_t n) {
    if (!crc_table[1])
        for (unsigned i = 0; i < 256; i++) {
            unsigned c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
    crc = ~crc;
    while (n--) crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

static struct sockaddr_in addr_of(const char *ip, int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    CHECK(inet_pton(AF_INET, ip, &a.sin_addr) == 1);
    return a;
}

static unsigned write_stream(int s, long total) {
    static unsigned char out[1 << 16];
    unsigned state = 12345, crc = 0;
    for (long sent = 0; sent < total;) {
        long n = total - sent < (long)sizeof out ? total - sent : (long)sizeof out;
        for (long k = 0; k < n; k++) { state = state * 1103515245u + 12345u; out[k] = state >> 16; }
        crc = crc32_update(crc, out, n);
        for (long off = 0; off < n;) {
            ssize_t w = write(s, out + off, n - off);
            CHECK(w > 0);
            off += w;
        }
        sent += n;
    }
    return crc;
}

static int send_exit(const char *ip, int port, long total) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = addr_of(ip, port);
    CHECK(connect(s, (void *)&a, sizeof a) == 0);
    unsigned crc = write_stream(s, total);
    printf("wrote %ld crc %u\n", total, crc);
    fflush(stdout);
    _exit(0);
}

static int linger_test(int secs, long total, int stall) {
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    CHECK(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    int small = 4096;
    CHECK(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
    struct sockaddr_in a = addr_of("127.0.0.1", 0);
    CHECK(bind(l, (void *)&a, sizeof a) == 0);
    CHECK(listen(l, 8) == 0);
    socklen_t al = sizeof a;
    CHECK(getsockname(l, (void *)&a, &al) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int c = accept(l, NULL, NULL);
        CHECK(c >= 0);
        long got = 0;
        int reset = 0;
        char buf[1024];
        struct pollfd p[2] = {{c, POLLIN, 0}, {l, POLLIN, 0}};
        // Read slowly (or not at all) until the client's second connection.
        for (;;) {
            CHECK(poll(p + (stall ? 1 : 0), stall ? 1 : 2, -1) > 0);
            if (p[1].revents & POLLIN) break;
            if (!stall && (p[0].revents & POLLIN)) {
                ssize_t r = read(c, buf, sizeof buf);
                if (r < 0) { CHECK(errno == ECONNRESET); reset = 1; break; }
                if (r == 0) break;          // EOF before the second connection
                got += r;
                usleep(300);                // a slow reader: the client's close must wait
            }
        }
        int c2 = accept(l, NULL, NULL);
        CHECK(c2 >= 0);
        // What is already here (acknowledged by the server's kernel), then the rest.
        int queued = 0;
        if (!reset && ioctl(c, FIONREAD, &queued) < 0) queued = 0;
        long here = got + queued, all = got;
        for (ssize_t r; !reset;) {
            r = read(c, buf, sizeof buf);
            if (r < 0) { CHECK(errno == ECONNRESET); reset = 1; }
            if (r <= 0) break;
            all += r;
        }
        char line[64] = {0};
        CHECK(read(c2, line, sizeof line - 1) > 0);
        long sent = atol(line);
        if (getenv("NET_EXIT_DEBUG"))
            fprintf(stderr, "sent %ld got %ld here %ld\n", sent, got, here);
        if (secs == 0)
            printf("server: reset=%s all=%s\n", reset ? "yes" : "no", all == sent ? "yes" : "no");
        else if (stall)
            printf("server: all=%s eof\n", all == sent ? "yes" : "no");
        else
            printf("server: at second connect: %s; all=%s eof\n",
                   here == sent ? "all bytes queued" : "bytes missing",
                   all == sent ? "yes" : "no");
        fflush(stdout);
        _exit(0);
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(s, (void *)&a, sizeof a) == 0);
    struct linger lg = {1, secs};
    CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    // Fill the pipe without blocking: the amount depends on the kernel's buffers.
    CHECK(fcntl(s, F_SETFL, O_NONBLOCK) == 0);
    static char chunk[4096];
    long sent = 0;
    for (; total == 0 || sent < total;) {
        ssize_t w = write(s, chunk, sizeof chunk);
        if (w < 0) { CHECK(errno == EAGAIN); break; }
        sent += w;
    }
    CHECK(fcntl(s, F_SETFL, 0) == 0);
    int r = close(s);
    printf("client: close=%d\n", r);
    fflush(stdout);
    int s2 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(s2, (void *)&a, sizeof a) == 0);
    char line[64];
    int n = snprintf(line, sizeof line, "%ld\n", sent);
    CHECK(write(s2, line, n) == n);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    close(s2);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "send-exit")) return send_exit(argv[2], atoi(argv[3]), atol(argv[4]));
    if (argc >= 4 && !strcmp(argv[1], "linger"))
        return linger_test(atoi(argv[2]), atol(argv[3]), argc == 5 && !strcmp(argv[4], "stall"));
    fprintf(stderr, "usage: net_exit send-exit ADDR PORT BYTES | linger SECS BYTES [stall]\n");
    return 2;
}
