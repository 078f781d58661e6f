#define _GNU_SOURCE
/* AF_UNIX names and connections: filesystem and abstract names, a forked
   stream server, datagrams by name, errno cases, /proc/net/unix. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static long r(long v) { return v < 0 ? -errno : v; }

static socklen_t mkaddr(struct sockaddr_un *a, const char *path, int abstract) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (abstract) { memcpy(a->sun_path + 1, path, n); return offsetof(struct sockaddr_un, sun_path) + 1 + n; }
    memcpy(a->sun_path, path, n);
    return offsetof(struct sockaddr_un, sun_path) + n + 1;
}

static void show_name(const char *what, int fd, int peer) {
    struct sockaddr_un a; socklen_t l = sizeof a;
    memset(&a, 0, sizeof a);
    long rc = peer ? r(getpeername(fd, (struct sockaddr *)&a, &l)) : r(getsockname(fd, (struct sockaddr *)&a, &l));
    if (rc < 0) { printf("%s: %ld\n", what, rc); return; }
    if (l > 2 && a.sun_path[0] == 0)
        printf("%s: len=%d abstract=%.*s\n", what, (int)l, (int)l - 3, a.sun_path + 1);
    else
        printf("%s: len=%d path=%s\n", what, (int)l, l > 2 ? a.sun_path : "");
}

static void serve(const char *path, int abstract) {
    struct sockaddr_un a; socklen_t al = mkaddr(&a, path, abstract);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("listen unbound=%ld\n", r(listen(ls, 5)));
    printf("bind=%ld\n", r(bind(ls, (struct sockaddr *)&a, al)));
    printf("bind again=%ld\n", r(bind(ls, (struct sockaddr *)&a, al)));
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind in use=%ld\n", r(bind(other, (struct sockaddr *)&a, al)));
    printf("connect not listening=%ld\n", r(connect(other, (struct sockaddr *)&a, al)));
    printf("accept not listening=%ld\n", r(accept(ls, 0, 0)));
    close(other);
    if (!abstract) {
        struct stat st;
        printf("stat=%ld issock=%d\n", r(stat(path, &st)), S_ISSOCK(st.st_mode));
    }
    printf("listen=%ld acceptconn=%d\n", r(listen(ls, 5)), ({int v=0; socklen_t l=4; getsockopt(ls, SOL_SOCKET, SO_ACCEPTCONN, &v, &l); v;}));
    show_name("server name", ls, 0);
    show_name("listener peer", ls, 1);
    int nb = fcntl(ls, F_GETFL);
    fcntl(ls, F_SETFL, nb | O_NONBLOCK);
    printf("accept empty nonblock=%ld\n", r(accept(ls, 0, 0)));
    struct pollfd p = {ls, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    printf("listener mask=%#x\n", p.revents);
    fcntl(ls, F_SETFL, nb);
    pid_t pid = fork();
    if (pid == 0) {
        static char out[4096];
        setvbuf(stdout, out, _IOFBF, sizeof out);     /* printed at exit, before the parent's wait */
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, al) < 0) _exit(10);
        show_name("client peer", c, 1);
        show_name("client name", c, 0);
        printf("client connect again=%ld\n", r(connect(c, (struct sockaddr *)&a, al)));
        for (int i = 0; i < 3; i++) {
            char buf[32];
            int n = snprintf(buf, sizeof buf, "req %d", i);
            write(c, buf, n);
            n = read(c, buf, sizeof buf);
            printf("client got %.*s\n", n, buf);
        }
        shutdown(c, SHUT_WR);
        char buf[8];
        printf("client eof=%ld\n", r(read(c, buf, sizeof buf)));
        fflush(stdout);
        _exit(0);
    }
    struct sockaddr_un peer; socklen_t pl = sizeof peer;
    int s = accept4(ls, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
    printf("accepted peerlen=%d cloexec=%d\n", (int)pl, fcntl(s, F_GETFD));
    show_name("accepted name", s, 0);
    char buf[64];
    long n;
    while ((n = read(s, buf, sizeof buf)) > 0) {
        for (long i = 0; i < n; i++) if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] -= 32;
        write(s, buf, n);
    }
    close(s);
    int st; waitpid(pid, &st, 0);
    printf("server eof=%ld\n", n);
    printf("client status=%d\n", WEXITSTATUS(st));
    /* backlog: nonblocking connects until the queue is full */
    int cs[8], k;
    listen(ls, 1);
    for (k = 0; k < 8; k++) {
        cs[k] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(cs[k], (struct sockaddr *)&a, al) < 0) { printf("backlog full after %d: %d\n", k, -errno); close(cs[k]); break; }
    }
    int acc = accept(ls, 0, 0);
    printf("accept from backlog=%d\n", acc >= 0);
    /* a queued connection is writable before accept; then the listener goes away */
    printf("write before accept=%ld\n", r(write(cs[1], "hi", 2)));
    close(ls);
    char c;
    printf("queued client after listener close: read=%ld\n", r(read(cs[1], &c, 1)));
    printf("accepted client read nonblock=%ld\n", r(read(cs[0], &c, 1)));
    for (int i = 0; i < k; i++) close(cs[i]);
    close(acc);
    printf("connect after close=%ld\n", ({int c2 = socket(AF_UNIX, SOCK_STREAM, 0); long v = r(connect(c2, (struct sockaddr *)&a, al)); close(c2); v;}));
    if (!abstract) unlink(path);
}

static void dgrams(void) {
    struct sockaddr_un a, b;
    socklen_t al = mkaddr(&a, "/tmp/akuma_sock_d1", 0), bl = mkaddr(&b, "/tmp/akuma_sock_d2", 0);
    unlink(a.sun_path); unlink(b.sun_path);
    int s1 = socket(AF_UNIX, SOCK_DGRAM, 0), s2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(s1, (struct sockaddr *)&a, al);
    bind(s2, (struct sockaddr *)&b, bl);
    printf("dgram send unconnected=%ld\n", r(send(s1, "x", 1, 0)));
    printf("sendto=%ld\n", r(sendto(s1, "hello", 5, 0, (struct sockaddr *)&b, bl)));
    char buf[32]; struct sockaddr_un from; socklen_t fl = sizeof from;
    long n = recvfrom(s2, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("recvfrom=%ld from=%s len=%d\n", n, from.sun_path, (int)fl);
    printf("connect=%ld\n", r(connect(s1, (struct sockaddr *)&b, bl)));
    show_name("dgram peer", s1, 1);
    printf("send connected=%ld\n", r(send(s1, "again", 5, 0)));
    n = recv(s2, buf, sizeof buf, 0);
    printf("recv=%ld\n", n);
    int s3 = socket(AF_UNIX, SOCK_DGRAM, 0);
    printf("connect s2->s3 path of s1: %ld\n", r(connect(s2, (struct sockaddr *)&a, al)));
    printf("s3 sendto s2 (connected elsewhere)=%ld\n", r(sendto(s3, "no", 2, 0, (struct sockaddr *)&b, bl)));
    struct sockaddr_un un = {AF_UNSPEC};
    printf("dissolve=%ld\n", r(connect(s2, (struct sockaddr *)&un, sizeof(sa_family_t))));
    printf("s3 sendto s2 now=%ld\n", r(sendto(s3, "ok", 2, 0, (struct sockaddr *)&b, bl)));
    fl = sizeof from;
    n = recvfrom(s2, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("from unbound: n=%ld len=%d\n", n, (int)fl);
    close(s2);
    printf("send to closed peer=%ld\n", r(send(s1, "x", 1, 0)));
    printf("send again=%ld\n", r(send(s1, "x", 1, 0)));
    printf("sendto stale path=%ld\n", r(sendto(s3, "x", 1, 0, (struct sockaddr *)&b, bl)));
    int st = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("stream connect to dgram=%ld\n", r(connect(st, (struct sockaddr *)&a, al)));
    printf("listen dgram=%ld\n", r(listen(s1, 1)));
    printf("accept dgram=%ld\n", r(accept(s1, 0, 0)));
    close(st); close(s1); close(s3);
    unlink(a.sun_path); unlink(b.sun_path);
}

static void errnos(void) {
    struct sockaddr_un a; socklen_t al;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    char c;
    printf("socket bad family=%ld\n", r(socket(12345, SOCK_STREAM, 0)));
    printf("socket unregistered family=%ld\n", r(socket(AF_APPLETALK, SOCK_DGRAM, 0)));
    printf("socket bad type=%ld\n", r(socket(AF_UNIX, 9, 0)));
    printf("socket huge type=%ld\n", r(socket(AF_UNIX, 15, 0)));
    printf("socket bad proto=%ld\n", r(socket(AF_UNIX, SOCK_STREAM, 7)));
    int raw = socket(AF_UNIX, SOCK_RAW, 0);
    printf("raw type=%d\n", ({int v=0; socklen_t l=4; getsockopt(raw, SOL_SOCKET, SO_TYPE, &v, &l); v;}));
    close(raw);
    int pfd[2]; pipe(pfd);
    printf("notsock=%ld\n", r(listen(pfd[0], 1)));
    printf("badf=%ld\n", r(listen(99, 1)));
    printf("send unconnected=%ld\n", r(send(s, "x", 1, MSG_NOSIGNAL)));
    printf("recv unconnected=%ld\n", r(recv(s, &c, 1, 0)));
    printf("getpeername unconnected=%ld\n", ({struct sockaddr_un p; socklen_t l = sizeof p; r(getpeername(s, (struct sockaddr *)&p, &l));}));
    al = mkaddr(&a, "/nonexistent/dir/sock", 0);
    printf("connect enoent=%ld\n", r(connect(s, (struct sockaddr *)&a, al)));
    printf("bind enoent=%ld\n", r(bind(s, (struct sockaddr *)&a, al)));
    al = mkaddr(&a, "/tmp", 0);
    printf("connect to dir=%ld\n", r(connect(s, (struct sockaddr *)&a, al)));
    al = mkaddr(&a, "nobody_listens_here", 1);
    printf("connect abstract none=%ld\n", r(connect(s, (struct sockaddr *)&a, al)));
    printf("bind short=%ld\n", r(bind(s, (struct sockaddr *)&a, 1)));
    printf("bind long=%ld\n", r(bind(s, (struct sockaddr *)&a, 111)));
    a.sun_family = AF_INET;
    printf("bind wrong family=%ld\n", r(bind(s, (struct sockaddr *)&a, al)));
    printf("bind efault=%ld\n", r(bind(s, (struct sockaddr *)8, 20)));
    printf("getsockopt bad level=%ld\n", ({int v; socklen_t l = 4; r(getsockopt(s, 12345, SO_TYPE, &v, &l));}));
    printf("getsockopt bad name=%ld\n", ({int v; socklen_t l = 4; r(getsockopt(s, SOL_SOCKET, 9999, &v, &l));}));
    printf("getsockopt neg len=%ld\n", ({int v; socklen_t l = -1; r(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));}));
    printf("getsockopt short=%ld\n", ({char v[2] = {9, 9}; socklen_t l = 2; long rc = r(getsockopt(s, SOL_SOCKET, SO_TYPE, v, &l)); printf("  short len=%d v=%d\n", (int)l, v[0]); rc;}));
    printf("setsockopt short=%ld\n", ({char v = 1; r(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 1));}));
    printf("setsockopt reuseaddr=%ld\n", ({int v = 1; r(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 4));}));
    printf("setsockopt type=%ld\n", ({int v = 1; r(setsockopt(s, SOL_SOCKET, SO_TYPE, &v, 4));}));
    printf("peercred unconnected=%ld\n", ({struct ucred u; socklen_t l = sizeof u; long rc = r(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &u, &l)); printf("  pid=%d uid=%d gid=%d\n", u.pid, (int)u.uid, (int)u.gid); rc;}));
    printf("autobind=%ld\n", r(bind(s, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX}, sizeof(sa_family_t))));
    struct sockaddr_un n; socklen_t nl = sizeof n;
    getsockname(s, (struct sockaddr *)&n, &nl);
    printf("autobind len=%d abstract=%d\n", (int)nl, n.sun_path[0] == 0);
    printf("sockname efault=%ld\n", r(getsockname(s, (struct sockaddr *)&n, (socklen_t *)8)));
    printf("accept4 bad flags=%ld\n", r(accept4(s, 0, 0, 1)));
    printf("socketpair efault=%ld\n", r(socketpair(AF_UNIX, SOCK_STREAM, 0, (int *)8)));
    close(s); close(pfd[0]); close(pfd[1]);
}

static void procnet(void) {
    struct sockaddr_un a; socklen_t al = mkaddr(&a, "/tmp/akuma_sock_proc", 0);
    unlink(a.sun_path);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(s, (struct sockaddr *)&a, al);
    listen(s, 1);
    FILE *f = fopen("/proc/net/unix", "r");
    char line[512]; int found = 0, header = 0;
    if (f) {
        if (fgets(line, sizeof line, f)) header = strncmp(line, "Num       RefCount Protocol Flags    Type St Inode Path", 55) == 0;
        while (fgets(line, sizeof line, f))
            if (strstr(line, "/tmp/akuma_sock_proc")) { found = 1; printf("proc flags/type/st: %.16s\n", line + 36); }
        fclose(f);
    }
    printf("proc header=%d found=%d\n", header, found);
    close(s); unlink(a.sun_path);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    unlink("/tmp/akuma_sock_srv");
    serve("/tmp/akuma_sock_srv", 0);
    char name[64]; snprintf(name, sizeof name, "akuma_abstract_%d", (int)getpid() % 1);
    serve(name, 1);
    dgrams();
    errnos();
    procnet();
    printf("done\n");
    return 0;
}
