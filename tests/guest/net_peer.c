// Network peers for the NAT, port-forward and throughput tests/benchmarks.
//   udp-echo PORT N        echo N datagrams received on UDP PORT, then exit
//   udp-ask ADDR PORT MSG  send MSG to ADDR:PORT over UDP, print the reply
//   tcp-sink PORT          accept one connection, read to EOF, write back the byte count
//   stream BYTES           loopback TCP: a child sends BYTES, the parent reads them
//   connects N             N loopback TCP connect/accept/close round trips
//   tcp-send ADDR PORT BYTES  connect, write BYTES of a pseudo-random stream, shut down
//                          writes, wait for the peer's EOF; print "sent BYTES crc CRC32"
//   tcp-source PORT BYTES  accept one connection, then as tcp-send
//   ifconf                 list interfaces with SIOCGIFCONF, then each one's index and MTU
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #x); exit(1); } } while (0)

static struct sockaddr_in addr_of(const char *ip, int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    CHECK(inet_pton(AF_INET, ip, &a.sin_addr) == 1);
    return a;
}

static int listener(const char *ip, int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    CHECK(s >= 0);
    CHECK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    struct sockaddr_in a = addr_of(ip, port);
    CHECK(bind(s, (void *)&a, sizeof a) == 0);
    CHECK(listen(s, 64) == 0);
    return s;
}

static int bound_port(int s) {
    struct sockaddr_in a; socklen_t len = sizeof a;
    CHECK(getsockname(s, (void *)&a, &len) == 0);
    return ntohs(a.sin_port);
}

static int udp_echo(int port, int n) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = addr_of("0.0.0.0", port);
    CHECK(bind(s, (void *)&a, sizeof a) == 0);
    printf("ready\n"); fflush(stdout);
    for (int i = 0; i < n; i++) {
        char buf[2048]; struct sockaddr_in from; socklen_t fl = sizeof from;
        ssize_t r = recvfrom(s, buf, sizeof buf, 0, (void *)&from, &fl);
        CHECK(r >= 0);
        CHECK(sendto(s, buf, r, 0, (void *)&from, fl) == r);
    }
    return 0;
}

static int udp_ask(const char *ip, int port, const char *msg) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = addr_of(ip, port);
    struct timeval tv = {5, 0};
    CHECK(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    CHECK(sendto(s, msg, strlen(msg), 0, (void *)&a, sizeof a) == (ssize_t)strlen(msg));
    char buf[2048]; struct sockaddr_in from; socklen_t fl = sizeof from;
    ssize_t r = recvfrom(s, buf, sizeof buf - 1, 0, (void *)&from, &fl);
    CHECK(r >= 0);
    buf[r] = 0;
    char ip_s[32];
    inet_ntop(AF_INET, &from.sin_addr, ip_s, sizeof ip_s);
    printf("reply from %s:%d: %s\n", ip_s, ntohs(from.sin_port), buf);
    return 0;
}

static int tcp_sink(int port) {
    int l = listener("0.0.0.0", port);
    printf("ready\n"); fflush(stdout);
    int c = accept(l, NULL, NULL);
    CHECK(c >= 0);
    static char buf[1 << 16];
    long total = 0; ssize_t r;
    while ((r = read(c, buf, sizeof buf)) > 0) total += r;
    CHECK(r == 0);
    char line[32]; int n = snprintf(line, sizeof line, "%ld\n", total);
    CHECK(write(c, line, n) == n);
    close(c);
    return 0;
}

static int stream(long total) {
    int l = listener("127.0.0.1", 0);
    struct sockaddr_in a = addr_of("127.0.0.1", bound_port(l));
    pid_t pid = fork();
    if (pid == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(connect(s, (void *)&a, sizeof a) == 0);
        static char out[1 << 16];
        memset(out, 'x', sizeof out);
        for (long sent = 0; sent < total;) {
            long n = total - sent < (long)sizeof out ? total - sent : (long)sizeof out;
            ssize_t w = write(s, out, n);
            CHECK(w > 0);
            sent += w;
        }
        close(s);
        _exit(0);
    }
    int c = accept(l, NULL, NULL);
    CHECK(c >= 0);
    static char in[1 << 16];
    long got = 0; ssize_t r;
    while ((r = read(c, in, sizeof in)) > 0) got += r;
    CHECK(r == 0 && got == total);
    int st; CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("streamed %ld\n", got);
    return 0;
}

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

// Write `total` bytes of an LCG stream in writes of varying size.
static int send_stream(int s, long total) {
    static unsigned char out[1 << 16];
    unsigned state = 12345, crc = 0;
    for (long sent = 0, i = 0; sent < total; i++) {
        long n = 1 + (long)((i * 7919) % sizeof out);
        if (n > total - sent) n = total - sent;
        for (long k = 0; k < n; k++) { state = state * 1103515245u + 12345u; out[k] = state >> 16; }
        crc = crc32_update(crc, out, n);
        for (long off = 0; off < n;) {
            ssize_t w = write(s, out + off, n - off);
            CHECK(w > 0);
            off += w;
        }
        sent += n;
    }
    // Then wait for the peer's close: the data is delivered before this
    // program (and with it `akuma run`'s kernel) exits.
    CHECK(shutdown(s, SHUT_WR) == 0);
    char c;
    ssize_t r = read(s, &c, 1);
    if (r != 0) perror("read");
    CHECK(r == 0);
    CHECK(close(s) == 0);
    printf("sent %ld crc %08x\n", total, crc);
    return 0;
}

static int tcp_send(const char *ip, int port, long total) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = addr_of(ip, port);
    CHECK(connect(s, (void *)&a, sizeof a) == 0);
    return send_stream(s, total);
}

static int tcp_source(int port, long total) {
    int l = listener("0.0.0.0", port);
    printf("ready\n"); fflush(stdout);
    int c = accept(l, NULL, NULL);
    CHECK(c >= 0);
    return send_stream(c, total);
}

static int connects(int n) {
    int l = listener("127.0.0.1", 0);
    struct sockaddr_in a = addr_of("127.0.0.1", bound_port(l));
    for (int i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(connect(s, (void *)&a, sizeof a) == 0);
        int c = accept(l, NULL, NULL);
        CHECK(c >= 0);
        close(s);        // the client closes first: its side holds TIME_WAIT
        close(c);
    }
    printf("connected %d\n", n);
    return 0;
}

static int ifconf(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifconf ifc = {0};
    CHECK(ioctl(s, SIOCGIFCONF, &ifc) == 0);      // NULL buffer: the size needed
    int need = ifc.ifc_len;
    struct ifreq reqs[8];
    ifc.ifc_len = sizeof reqs;
    ifc.ifc_req = reqs;
    CHECK(ioctl(s, SIOCGIFCONF, &ifc) == 0 && ifc.ifc_len == need);
    for (int i = 0; i < ifc.ifc_len / (int)sizeof(struct ifreq); i++) {
        struct ifreq r = reqs[i];
        char ip[32];
        inet_ntop(AF_INET, &((struct sockaddr_in *)&r.ifr_addr)->sin_addr, ip, sizeof ip);
        CHECK(ioctl(s, SIOCGIFINDEX, &r) == 0);
        int index = r.ifr_ifindex;
        CHECK(ioctl(s, SIOCGIFMTU, &r) == 0);
        printf("%s %s index %d mtu %d\n", r.ifr_name, ip, index, r.ifr_mtu);
    }
    struct ifreq bad = {0};
    strcpy(bad.ifr_name, "nope0");
    CHECK(ioctl(s, SIOCGIFFLAGS, &bad) == -1);
    perror("nope0");
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 4 && !strcmp(argv[1], "udp-echo")) return udp_echo(atoi(argv[2]), atoi(argv[3]));
    if (argc == 5 && !strcmp(argv[1], "udp-ask")) return udp_ask(argv[2], atoi(argv[3]), argv[4]);
    if (argc == 3 && !strcmp(argv[1], "tcp-sink")) return tcp_sink(atoi(argv[2]));
    if (argc == 3 && !strcmp(argv[1], "stream")) return stream(atol(argv[2]));
    if (argc == 5 && !strcmp(argv[1], "tcp-send")) return tcp_send(argv[2], atoi(argv[3]), atol(argv[4]));
    if (argc == 4 && !strcmp(argv[1], "tcp-source")) return tcp_source(atoi(argv[2]), atol(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "connects")) return connects(atoi(argv[2]));
    if (argc == 2 && !strcmp(argv[1], "ifconf")) return ifconf();
    fprintf(stderr, "usage: net_peer udp-echo|udp-ask|tcp-sink|tcp-send|tcp-source|stream|connects|ifconf ...\n");
    return 2;
}
