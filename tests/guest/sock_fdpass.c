/* SCM_RIGHTS and SCM_CREDENTIALS over AF_UNIX; SO_PEERCRED; MSG_CTRUNC. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static long r(long v) { return v < 0 ? -errno : v; }

static long send_fds(int s, const int *fds, int n, const char *data) {
    char ctl[CMSG_SPACE(sizeof(int) * 8)];
    memset(ctl, 0, sizeof ctl);
    struct iovec iv = {(void *)data, strlen(data)};
    struct msghdr m = {0};
    m.msg_iov = &iv; m.msg_iovlen = 1;
    m.msg_control = ctl; m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    return r(sendmsg(s, &m, 0));
}

/* Receive with a control buffer of ctlsize bytes; print what arrived. */
static void recv_show(int s, size_t ctlsize, int flags, const char *what) {
    char buf[64], ctl[256];
    memset(ctl, 0, sizeof ctl);
    struct iovec iv = {buf, sizeof buf};
    struct msghdr m = {0};
    m.msg_iov = &iv; m.msg_iovlen = 1;
    m.msg_control = ctlsize ? ctl : NULL; m.msg_controllen = ctlsize;
    long n = r(recvmsg(s, &m, flags));
    printf("%s: n=%ld flags=%#x controllen=%d\n", what, n, m.msg_flags, (int)m.msg_controllen);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_type == SCM_RIGHTS) {
            int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            printf("  rights len=%d fds=%d\n", (int)c->cmsg_len, k);
            for (int i = 0; i < k; i++) {
                int fd; memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                char tmp[32]; long got = read(fd, tmp, sizeof tmp - 1);
                printf("  fd[%d] cloexec=%d read=%ld %.*s\n", i, fcntl(fd, F_GETFD), got,
                       (int)(got > 0 ? got : 0), tmp);
                close(fd);
            }
        } else if (c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred u; memcpy(&u, CMSG_DATA(c), sizeof u);
            printf("  creds len=%d pid_ok=%d uid=%d gid=%d\n", (int)c->cmsg_len,
                   u.pid == getpid() || u.pid == getppid(), (int)u.uid, (int)u.gid);
        }
    }
}

static int pipe_with(const char *text) {
    int p[2]; pipe(p);
    write(p[1], text, strlen(text));
    close(p[1]);
    return p[0];
}

static int count_fds(void) {
    int n = 0;
    for (int fd = 0; fd < 64; fd++) if (fcntl(fd, F_GETFD) >= 0) n++;
    return n;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int sv[2];
    static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
    for (int ti = 0; ti < 3; ti++) {
        int type = types[ti];
        printf("== type %d\n", type);
        socketpair(AF_UNIX, type, 0, sv);
        int base = count_fds();
        int fds[3] = {pipe_with("one"), pipe_with("two"), pipe_with("three")};
        printf("send 3=%ld\n", send_fds(sv[0], fds, 3, "x"));
        for (int i = 0; i < 3; i++) close(fds[i]);          /* in flight: still open */
        recv_show(sv[1], 256, MSG_CMSG_CLOEXEC, "full");
        fds[0] = pipe_with("alpha"); fds[1] = pipe_with("beta"); fds[2] = pipe_with("gamma");
        send_fds(sv[0], fds, 3, "y");
        for (int i = 0; i < 3; i++) close(fds[i]);
        recv_show(sv[1], CMSG_SPACE(sizeof(int)), 0, "short ctl");
        fds[0] = pipe_with("dropped");
        send_fds(sv[0], fds, 1, "z");
        close(fds[0]);
        recv_show(sv[1], 0, 0, "no ctl");
        fds[0] = pipe_with("peeked");
        send_fds(sv[0], fds, 1, "p");
        close(fds[0]);
        recv_show(sv[1], 256, MSG_PEEK, "peek");
        recv_show(sv[1], 256, 0, "after peek");
        printf("fds back to base=%d\n", count_fds() == base);
        /* creds */
        int on = 1;
        setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
        send(sv[0], "c", 1, 0);
        recv_show(sv[1], 256, 0, "passcred");
        recv_show(sv[1], 16, MSG_DONTWAIT, "empty");
        send(sv[0], "d", 1, 0);
        recv_show(sv[1], 20, 0, "passcred short");
        struct ucred u = {getpid(), getuid(), getgid()};
        char ctl[CMSG_SPACE(sizeof u)];
        struct iovec iv = {"e", 1};
        struct msghdr m = {0};
        m.msg_iov = &iv; m.msg_iovlen = 1; m.msg_control = ctl; m.msg_controllen = sizeof ctl;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_CREDENTIALS; c->cmsg_len = CMSG_LEN(sizeof u);
        memcpy(CMSG_DATA(c), &u, sizeof u);
        printf("send creds=%ld\n", r(sendmsg(sv[0], &m, 0)));
        recv_show(sv[1], 256, 0, "explicit creds");
        c->cmsg_len = CMSG_LEN(sizeof u) + 100;
        printf("bad cmsg_len=%ld\n", r(sendmsg(sv[0], &m, 0)));
        c->cmsg_len = CMSG_LEN(sizeof u); c->cmsg_type = 77;
        printf("bad cmsg type=%ld\n", r(sendmsg(sv[0], &m, 0)));
        int bad = 55;
        printf("bad fd=%ld\n", send_fds(sv[0], &bad, 1, "w"));
        struct ucred pc; socklen_t pl = sizeof pc;
        getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &pc, &pl);
        printf("peercred len=%d pid_ok=%d uid=%d gid=%d\n", (int)pl, pc.pid == getpid(), (int)pc.uid, (int)pc.gid);
        close(sv[0]); close(sv[1]);
    }
    /* passing a socket to a child, then peercred across fork */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        char buf[64], ctl[64];
        struct iovec iv = {buf, sizeof buf};
        struct msghdr m = {0};
        m.msg_iov = &iv; m.msg_iovlen = 1; m.msg_control = ctl; m.msg_controllen = sizeof ctl;
        if (recvmsg(sv[1], &m, 0) <= 0) _exit(2);
        int fd; memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
        write(fd, "via passed socket", 17);
        _exit(0);
    }
    close(sv[1]);
    int inner[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, inner);
    send_fds(sv[0], &inner[1], 1, "s");
    close(inner[1]);
    char buf[32];
    long n = read(inner[0], buf, sizeof buf);
    printf("through passed socket: %.*s\n", (int)n, buf);
    n = read(inner[0], buf, sizeof buf);
    printf("then eof=%ld\n", n);
    int st; waitpid(pid, &st, 0);
    printf("child=%d\n", WEXITSTATUS(st));
    printf("done\n");
    return 0;
}
