/* Pseudo-terminals and the line discipline over a pty pair: ptmx/ptsname/
 * unlockpt, canonical editing and echo, raw mode with VMIN/VTIME, output
 * processing, window size, FIONREAD, hangups.  Every line is compared with
 * qemu-aarch64-static (which passes these to the host kernel). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, const char *buf, int n) {
    printf("%s n=%d \"", what, n);
    for (int i = 0; i < n; i++) {
        unsigned char c = buf[i];
        if (c >= 32 && c < 127 && c != '\\') putchar(c);
        else printf("\\x%02x", c);
    }
    printf("\"\n");
}

/* Read from fd until `want` bytes came or `ms` passed without any. */
static int drain(int fd, char *buf, int want, int ms) {
    int got = 0;
    while (got < want) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, ms) <= 0) break;
        int n = read(fd, buf + got, want - got);
        if (n <= 0) break;
        got += n;
    }
    return got;
}

static long ms_since(struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void typed(int m, int s, const char *in, int inlen, int echo_len) {
    char buf[256];
    write(m, in, inlen);
    int n = read(s, buf, sizeof buf);
    show("  read", buf, n);
    if (echo_len) {
        n = drain(m, buf, echo_len, 500);
        show("  echo", buf, n);
    }
}

int main(void) {
    char buf[256];
    setvbuf(stdout, NULL, _IONBF, 0);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    printf("openpt ok=%d isatty=%d\n", m >= 0, isatty(m));
    printf("grantpt=%d\n", grantpt(m));
    int lk = -1;
    ioctl(m, TIOCGPTLCK, &lk);
    printf("locked=%d\n", lk);
    char *name = ptsname(m);
    int early = open(name, O_RDWR | O_NOCTTY);
    printf("open locked=%d errno=%s\n", early, early < 0 ? strerror(errno) : "-");
    printf("unlockpt=%d\n", unlockpt(m));
    ioctl(m, TIOCGPTLCK, &lk);
    printf("locked=%d\n", lk);
    unsigned ptn = 999;
    printf("TIOCGPTN=%d name_ok=%d\n", ioctl(m, TIOCGPTN, &ptn), strncmp(name, "/dev/pts/", 9) == 0 &&
           (unsigned)atoi(name + 9) == ptn);
    int s = open(name, O_RDWR | O_NOCTTY);
    struct stat st;
    fstat(s, &st);
    printf("slave ok=%d isatty=%d chr=%d major=%d mode=%o\n", s >= 0, isatty(s), S_ISCHR(st.st_mode),
           major(st.st_rdev), st.st_mode & 0777);
    char *tn = ttyname(s);
    printf("ttyname matches=%d\n", tn && strcmp(tn, name) == 0);
    printf("TIOCGPTN on slave=%d errno=%s\n", ioctl(s, TIOCGPTN, &ptn), strerror(errno));

    struct termios t;
    tcgetattr(s, &t);
    printf("defaults iflag=%o oflag=%o cflag=%o lflag=%o vmin=%d vtime=%d intr=%d erase=%d\n",
           t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag, t.c_cc[VMIN], t.c_cc[VTIME], t.c_cc[VINTR],
           t.c_cc[VERASE]);
    struct termios tm;
    tcgetattr(m, &tm);
    printf("master sees slave settings=%d\n", tm.c_lflag == t.c_lflag);

    printf("canonical\n");
    typed(m, s, "ab\x7f" "c\n", 5, 9);
    typed(m, s, "xyz\x15q\n", 6, 14);
    typed(m, s, "foo bar\x17" "baz\n", 12, 22);
    typed(m, s, "cr\r", 3, 4);
    typed(m, s, "\x01\x02\n", 3, 6);
    typed(m, s, "hi\x04", 3, 2);
    typed(m, s, "\x04", 1, 0);
    typed(m, s, "\x16\x7f\n", 3, 0);
    drain(m, buf, sizeof buf, 200);
    write(m, "one\ntwo\n", 8);
    usleep(100000);
    int avail = -1;
    ioctl(s, FIONREAD, &avail);
    printf("FIONREAD=%d\n", avail);
    int n = read(s, buf, 2);
    show("  short read", buf, n);
    n = read(s, buf, sizeof buf);
    show("  rest of line", buf, n);
    n = read(s, buf, sizeof buf);
    show("  next line", buf, n);
    drain(m, buf, sizeof buf, 200);
    write(m, "partial", 7);
    usleep(100000);
    ioctl(s, FIONREAD, &avail);
    printf("FIONREAD partial=%d\n", avail);
    fcntl(s, F_SETFL, O_NONBLOCK);
    n = read(s, buf, sizeof buf);
    printf("nonblock partial=%d errno=%s\n", n, strerror(errno));
    fcntl(s, F_SETFL, 0);
    t.c_lflag &= ~ICANON;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);
    n = read(s, buf, sizeof buf);
    show("  switched to raw", buf, n);
    drain(m, buf, sizeof buf, 200);

    printf("raw\n");
    t.c_lflag &= ~(ECHO | ISIG | IEXTEN);
    t.c_iflag &= ~ICRNL;
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = read(s, buf, sizeof buf);
    printf("vmin0 vtime0=%d fast=%d\n", n, ms_since(&t0) < 100);
    t.c_cc[VTIME] = 2;
    tcsetattr(s, TCSANOW, &t);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = read(s, buf, sizeof buf);
    long el = ms_since(&t0);
    printf("vmin0 vtime2=%d waited=%d\n", n, el >= 150 && el < 1500);
    write(m, "\r\x03z", 3);
    usleep(100000);
    n = read(s, buf, sizeof buf);
    show("  vmin0 vtime2 data", buf, n);
    t.c_cc[VMIN] = 3;
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);
    write(m, "abc", 3);
    n = read(s, buf, sizeof buf);
    show("  vmin3", buf, n);
    t.c_cc[VMIN] = 5;
    t.c_cc[VTIME] = 2;
    tcsetattr(s, TCSANOW, &t);
    write(m, "de", 2);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = read(s, buf, sizeof buf);
    el = ms_since(&t0);
    show("  vmin5 vtime2", buf, n);
    printf("  interbyte waited=%d\n", el >= 150 && el < 1500);
    write(m, "fghij", 5);
    n = read(s, buf, 2);
    show("  vmin5 count2", buf, n);
    n = read(s, buf, sizeof buf);
    show("  vmin5 rest", buf, n);

    printf("output\n");
    write(s, "x\ny\tz\n", 6);
    n = drain(m, buf, 8, 500);
    show("  onlcr", buf, n);
    t.c_oflag &= ~OPOST;
    tcsetattr(s, TCSANOW, &t);
    write(s, "x\ny\n", 4);
    n = drain(m, buf, 4, 500);
    show("  raw out", buf, n);
    t.c_oflag |= OPOST | OCRNL;
    t.c_oflag &= ~ONLCR;
    tcsetattr(s, TCSANOW, &t);
    write(s, "a\rb", 3);
    n = drain(m, buf, 3, 500);
    show("  ocrnl", buf, n);

    printf("winsize\n");
    struct winsize ws = {0};
    ioctl(s, TIOCGWINSZ, &ws);
    printf("  initial %dx%d\n", ws.ws_row, ws.ws_col);
    ws.ws_row = 30;
    ws.ws_col = 100;
    printf("  set on master=%d\n", ioctl(m, TIOCSWINSZ, &ws));
    memset(&ws, 0, sizeof ws);
    ioctl(s, TIOCGWINSZ, &ws);
    printf("  slave sees %dx%d\n", ws.ws_row, ws.ws_col);
    printf("  TIOCGPGRP no ctty=%d errno=%s\n", ioctl(s, TIOCGPGRP, &n), strerror(errno));
    if (fork() == 0) {
        printf("  TIOCSCTTY not leader=%d errno=%s\n", ioctl(s, TIOCSCTTY, 0), strerror(errno));
        _exit(0);
    }
    wait(NULL);
    printf("  bad ioctl=%d errno=%s\n", ioctl(s, 0x54ff, 0), strerror(errno));
    printf("  tcflush=%d bad=%d errno=%s\n", tcflush(s, TCIOFLUSH), tcflush(s, 7), strerror(errno));
    printf("  tcdrain=%d\n", tcdrain(s));

    printf("hangup\n");
    int m2 = posix_openpt(O_RDWR | O_NOCTTY);
    unlockpt(m2);
    int s2 = open(ptsname(m2), O_RDWR | O_NOCTTY);
    write(s2, "bye", 3);
    close(s2);
    n = drain(m2, buf, 3, 500);
    show("  master gets", buf, n);
    n = read(m2, buf, sizeof buf);
    printf("  master after slave close=%d errno=%s\n", n, strerror(errno));
    struct pollfd pf = {m2, POLLIN, 0};
    printf("  master poll=%d revents=%x\n", poll(&pf, 1, 0), pf.revents);
    close(m2);
    close(m);
    n = read(s, buf, sizeof buf);
    printf("  slave read after master close=%d\n", n);
    n = write(s, "x", 1);
    printf("  slave write after master close=%d errno=%s\n", n, strerror(errno));
    pf.fd = s;
    printf("  slave poll=%d revents=%x\n", poll(&pf, 1, 0), pf.revents);
    printf("  reopen=%d errno=%s\n", open(name, O_RDWR | O_NOCTTY), strerror(errno));
    printf("done\n");
    return 0;
}
