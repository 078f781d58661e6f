/* read(2)/write(2) on pipe(2) pipes, the common case and every unusual one
   the kernel's fast path must hand on (or answer the same way): data
   through a wrapping ring (one process with O_NONBLOCK, and a blocking
   reader child), zero-length calls, EAGAIN, EOF, EPIPE (SIGPIPE ignored),
   EBADF (wrong end, bad fd, -1), an fd with high bits set in the 64-bit
   register (Linux uses the low 32 bits as an int), EFAULT on reads and
   writes with the bytes left where they were, a short read into a buffer
   whose second page is unmapped, anonymous or a file page (Linux copies
   what is available: 10; qemu-user checks the whole buffer first and says
   EFAULT: the "short read" lines), filling the pipe to
   the byte, non-blocking writes that do not fit, a 10000-round blocking
   ping-pong, readv/writev on the same pipe, F_SETPIPE_SZ over wrapped data,
   a blocked read interrupted by a signal (EINTR / SA_RESTART), wake-ups of
   blocked readers, poll and epoll by a writer in another process, and a
   read into a copy-on-write page after fork.  One line per check. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096

static const char *en(int e) {
    switch (e) {
    case 0: return "OK";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case EPIPE: return "EPIPE";
    case EINTR: return "EINTR";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case EPERM: return "EPERM";
    default: {
        static char b[32];
        snprintf(b, sizeof b, "errno%d", e);
        return b;
    }
    }
}

/* "ret" or "-1 ENAME" */
static const char *rs(long r, int e) {
    static char b[2][64];
    static int k;
    k ^= 1;
    if (r < 0)
        snprintf(b[k], sizeof b[k], "%ld %s", r, en(e));
    else
        snprintf(b[k], sizeof b[k], "%ld", r);
    return b[k];
}

#define CALL(expr) ({ errno = 0; long r_ = (long)(expr); last_errno = errno; r_; })
static int last_errno;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static unsigned char pat(unsigned long pos) {
    return (unsigned char)(pos * 131u + (pos >> 9) * 7u + 1u);
}

static int fionread(int fd) {
    int n = -1;
    if (ioctl(fd, FIONREAD, &n) < 0)
        return -1;
    return n;
}

static void set_nonblock(int fd, int on) {
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Write len bytes of the pattern from *pos; returns write's answer. */
static long put(int fd, unsigned long *pos, size_t len) {
    static unsigned char b[1 << 20];
    for (size_t i = 0; i < len; i++)
        b[i] = pat(*pos + i);
    long n = write(fd, b, len);
    if (n > 0)
        *pos += n;
    return n;
}

/* Read up to len bytes, checking them against the pattern from *pos; bad
   bytes are counted in *bad.  Returns read's answer. */
static long get(int fd, unsigned long *pos, size_t len, long *bad) {
    static unsigned char b[1 << 20];
    long n = read(fd, b, len);
    for (long i = 0; i < n; i++)
        if (b[i] != pat(*pos + i))
            (*bad)++;
    if (n > 0)
        *pos += n;
    return n;
}

/* ---------------------------------------------------------------- checks */

static void ring_nonblock(void) {
    int p[2];
    pipe2(p, O_NONBLOCK);
    unsigned long wpos = 0, rpos = 0;
    long bad = 0, short_w = 0, eagain = 0, miscounts = 0;
    for (unsigned i = 0; i < 2000; i++) {
        size_t w = 1 + (i * 2654435761u >> 7) % 4093;
        long n = put(p[1], &wpos, w);
        if (n != (long)w) {
            short_w++;
            if (n < 0 && errno == EAGAIN)
                eagain++;
        }
        /* Keep at most ~16 KB queued: Linux's page-based pipe then never
           runs out of its 16 slots, whatever the write sizes. */
        while (wpos - rpos > 16000) {
            size_t r = 1 + (i * 40503u + rpos * 7u) % 8191;
            size_t avail = wpos - rpos;
            long m = get(p[0], &rpos, r, &bad);
            if (m <= 0) {
                bad++;
                break;
            }
            if ((size_t)m != (r < avail ? r : avail))
                miscounts++;    /* neither the count asked nor all there was */
        }
    }
    int left = fionread(p[0]);
    int left_ok = left == (int)(wpos - rpos);
    while (rpos < wpos) {
        long m = get(p[0], &rpos, 3001, &bad);
        if (m <= 0) {
            bad++;
            break;
        }
    }
    long end = CALL(read(p[0], (char[8]){0}, 8));
    say("ring O_NONBLOCK: written=%lu read=%lu fionread_ok=%d bad=%ld miscounts=%ld "
        "short_writes=%ld eagain=%ld then %s\n", wpos, rpos, left_ok, bad, miscounts, short_w,
        eagain, rs(end, last_errno));
    close(p[0]);
    close(p[1]);
}

static void ring_child_reader(void) {
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        unsigned long pos = 0;
        long bad = 0, m;
        unsigned i = 0;
        while ((m = get(p[0], &pos, 1 + (i++ * 2246822519u >> 9) % 7001, &bad)) > 0)
            ;
        say("ring blocking, reader child: bytes=%lu bad=%ld end=%s\n", pos, bad,
            rs(m, errno));
        _exit(0);
    }
    close(p[0]);
    unsigned long pos = 0;
    long short_w = 0;
    for (unsigned i = 0; i < 2000; i++) {
        size_t w = 1 + (i * 2654435761u >> 7) % 4093;
        if (put(p[1], &pos, w) != (long)w)
            short_w++;
    }
    close(p[1]);
    int st;
    waitpid(pid, &st, 0);
    say("ring blocking, writer: bytes=%lu short_writes=%ld child_status=%d\n", pos, short_w, st);
}

static void zero_length(void) {
    int p[2];
    pipe(p);
    char b[4];
    say("zero read, empty blocking pipe: %s\n", rs(CALL(read(p[0], b, 0)), last_errno));
    say("zero read, NULL buffer: %s\n", rs(CALL(read(p[0], NULL, 0)), last_errno));
    say("zero write: %s fionread=%d\n", rs(CALL(write(p[1], b, 0)), last_errno), fionread(p[0]));
    say("zero write, NULL buffer: %s\n", rs(CALL(write(p[1], NULL, 0)), last_errno));
    say("zero read on write end: %s\n", rs(CALL(read(p[1], b, 0)), last_errno));
    say("zero write on read end: %s\n", rs(CALL(write(p[0], b, 0)), last_errno));
    write(p[1], "abc", 3);
    say("zero read with data: %s fionread=%d\n", rs(CALL(read(p[0], b, 0)), last_errno),
        fionread(p[0]));
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    say("zero write, no reader: %s\n", rs(CALL(write(p[1], b, 0)), last_errno));
    close(p[1]);
}

static void simple_errors(void) {
    int p[2];
    pipe(p);
    char b[16] = {0};
    say("read empty after F_SETFL O_NONBLOCK: %s\n",
        (set_nonblock(p[0], 1), rs(CALL(read(p[0], b, sizeof b)), last_errno)));
    set_nonblock(p[0], 0);
    int q[2];
    pipe2(q, O_NONBLOCK);
    say("read empty pipe2(O_NONBLOCK): %s\n", rs(CALL(read(q[0], b, sizeof b)), last_errno));
    close(q[1]);
    say("read empty O_NONBLOCK, writer gone: %s\n", rs(CALL(read(q[0], b, sizeof b)), last_errno));
    close(q[0]);

    say("read on write end: %s\n", rs(CALL(read(p[1], b, sizeof b)), last_errno));
    say("write on read end: %s\n", rs(CALL(write(p[0], "x", 1)), last_errno));
    say("read bad fd 999: %s\n", rs(CALL(read(999, b, sizeof b)), last_errno));
    say("write bad fd 999: %s\n", rs(CALL(write(999, "x", 1)), last_errno));
    say("read fd -1: %s\n", rs(CALL(read(-1, b, sizeof b)), last_errno));
    say("write fd -1: %s\n", rs(CALL(write(-1, "x", 1)), last_errno));
    say("write fd 1<<32|w: %s\n",
        rs(CALL(syscall(SYS_write, 0x100000000L | p[1], "hello", 5)), last_errno));
    say("read fd 1<<32|r: %s\n",
        rs(CALL(syscall(SYS_read, 0x100000000L | p[0], b, sizeof b)), last_errno));
    say("  got '%s'\n", b);
    say("read fd 0xffffffff00000000|r on empty O_NONBLOCK: %s\n",
        (set_nonblock(p[0], 1),
         rs(CALL(syscall(SYS_read, (long)0xffffffff00000000UL | p[0], b, sizeof b)), last_errno)));
    set_nonblock(p[0], 0);
    say("read fd 0x80000000|r: %s\n",
        rs(CALL(syscall(SYS_read, 0x80000000L | p[0], b, sizeof b)), last_errno));
    say("write fd 0x80000000|w: %s\n",
        rs(CALL(syscall(SYS_write, 0x80000000L | p[1], "x", 1)), last_errno));

    int hi = dup2(p[0], 200);
    write(p[1], "dup", 3);
    memset(b, 0, sizeof b);
    say("read via dup2'd fd 200: %s '%s'\n", rs(CALL(read(hi, b, sizeof b)), last_errno), b);
    close(hi);

    write(p[1], "12345", 5);
    memset(b, 0, sizeof b);
    say("read 3 of 5: %s '%s' fionread=%d\n", rs(CALL(read(p[0], b, 3)), last_errno), b,
        fionread(p[0]));
    memset(b, 0, sizeof b);
    say("read 16 of 2: %s '%s'\n", rs(CALL(read(p[0], b, sizeof b)), last_errno), b);

    write(p[1], "eof", 3);
    close(p[1]);
    memset(b, 0, sizeof b);
    long n1 = CALL(read(p[0], b, sizeof b));
    say("writer closed, data then EOF: %s '%s'", rs(n1, last_errno), b);
    say(" then %s", rs(CALL(read(p[0], b, sizeof b)), last_errno));
    say(" then %s\n", rs(CALL(read(p[0], b, sizeof b)), last_errno));
    close(p[0]);

    pipe(p);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    say("write, no reader (SIGPIPE ignored): %s\n", rs(CALL(write(p[1], "x", 1)), last_errno));
    say("write 100000, no reader: %s\n",
        rs(CALL(write(p[1], calloc(1, 100000), 100000)), last_errno));
    close(p[1]);
}

static void faults(void) {
    char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *hole = m;             /* page 0: unmapped */
    char *ok = m + PG;          /* page 1: mapped */
    char *hole2 = m + 2 * PG;   /* page 2: unmapped */
    munmap(hole, PG);
    munmap(hole2, PG);
    memset(ok, '.', PG);
    char b[32] = {0};
    int p[2];
    pipe(p);

    write(p[1], "0123456789", 10);
    long r = CALL(read(p[0], hole, 10));
    say("read into unmapped page: %s fionread=%d", rs(r, last_errno), fionread(p[0]));
    say(" then %s '%s'\n", rs(CALL(read(p[0], b, sizeof b)), last_errno), b);

    write(p[1], "0123456789", 10);
    r = CALL(read(p[0], hole, 2 * PG));
    say("read 2 pages, first unmapped: %s fionread=%d\n", rs(r, last_errno), fionread(p[0]));

    r = CALL(read(p[0], ok + PG - 5, 10));
    say("read of 10 straddling into an unmapped page: %s fionread=%d\n", rs(r, last_errno),
        fionread(p[0]));

    /* Linux: 10 (only what is there is copied); qemu-user: EFAULT. */
    r = CALL(read(p[0], ok, 2 * PG));
    say("short read, 2nd page unmapped: %s fionread=%d '%.10s'\n", rs(r, last_errno),
        fionread(p[0]), ok);
    memset(b, 0, sizeof b);
    read(p[0], b, fionread(p[0]) > 0 ? (size_t)fionread(p[0]) : 0);

    /* The same into a file page not yet faulted in (the kernel's pager runs
       first), followed by an unmapped page. */
    int mfd = memfd_create("pipe_fast", 0);
    ftruncate(mfd, PG);
    char *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(two, 2 * PG);
    char *fp = mmap(two, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, mfd, 0);
    write(p[1], "0123456789", 10);
    r = CALL(read(p[0], fp, 2 * PG));
    say("short read into a file page, 2nd page unmapped: %s fionread=%d '%.10s'\n",
        rs(r, last_errno), fionread(p[0]), fp);
    read(p[0], b, fionread(p[0]) > 0 ? (size_t)fionread(p[0]) : 0);
    munmap(fp, PG);
    close(mfd);

    memset(b, 0, sizeof b);
    write(p[1], "0123456789", 10);
    mprotect(ok, PG, PROT_READ);
    r = CALL(read(p[0], ok, 10));
    say("read into a read-only page: %s fionread=%d\n", rs(r, last_errno), fionread(p[0]));
    mprotect(ok, PG, PROT_READ | PROT_WRITE);
    say("  then %s '%s'\n", rs(CALL(read(p[0], b, sizeof b)), last_errno), b);

    say("read into kernel address: %s\n",
        (write(p[1], "k", 1), rs(CALL(read(p[0], (void *)0xffff800000001000UL, 1)), last_errno)));
    read(p[0], b, 1);

    r = CALL(write(p[1], hole, 10));
    say("write from unmapped page: %s fionread=%d\n", rs(r, last_errno), fionread(p[0]));
    r = CALL(write(p[1], ok + PG - 5, 10));
    say("write of 10 straddling into an unmapped page: %s fionread=%d\n", rs(r, last_errno),
        fionread(p[0]));
    mprotect(ok, PG, PROT_NONE);
    r = CALL(write(p[1], ok, 10));
    say("write from a PROT_NONE page: %s fionread=%d\n", rs(r, last_errno), fionread(p[0]));
    r = CALL(write(p[1], (void *)0xffff800000001000UL, 1));
    say("write from kernel address: %s fionread=%d\n", rs(r, last_errno), fionread(p[0]));
    write(p[1], "ab", 2);
    r = CALL(write(p[1], hole, 10));
    say("write from unmapped page, pipe not empty: %s fionread=%d\n", rs(r, last_errno),
        fionread(p[0]));
    memset(b, 0, sizeof b);
    say("  then %s '%s'\n", rs(CALL(read(p[0], b, sizeof b)), last_errno), b);

    /* Fresh memory: untouched anonymous pages as the read buffer. */
    char *fresh = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    write(p[1], "fresh-pages", 11);
    r = CALL(read(p[0], fresh + PG - 4, 11));
    say("read into untouched anonymous pages: %s '%.11s'\n", rs(r, last_errno), fresh + PG - 4);
    munmap(fresh, 2 * PG);
    munmap(ok, PG);
    close(p[0]);
    close(p[1]);
}

static void filling(void) {
    int p[2];
    pipe(p);
    int size = fcntl(p[1], F_GETPIPE_SZ);
    say("F_GETPIPE_SZ: %d\n", size);
    set_nonblock(p[1], 1);
    unsigned long wpos = 0, rpos = 0;
    long bad = 0;
    say("write size-100: %s\n", rs(CALL(put(p[1], &wpos, size - 100)), last_errno));
    say("non-blocking write 200 into 100 of room: %s fionread=%d\n",
        rs(CALL(put(p[1], &wpos, 200)), last_errno), fionread(p[0]));
    say("write exactly the 100 left: %s fionread=%d\n",
        rs(CALL(put(p[1], &wpos, 100)), last_errno), fionread(p[0]));
    say("then 1 more: %s\n", rs(CALL(put(p[1], &wpos, 1)), last_errno));
    say("then 5000 more: %s\n", rs(CALL(put(p[1], &wpos, 5000)), last_errno));
    struct pollfd pf = {p[1], POLLOUT, 0};
    say("full pipe: poll POLLOUT=%d\n", poll(&pf, 1, 0));
    say("read it all: %s", rs(CALL(get(p[0], &rpos, 2 * size, &bad)), last_errno));
    say(" bad=%ld\n", bad);

    /* 14 pages queued, 8192 bytes of room: a larger write takes what fits. */
    say("write 57344: %s\n", rs(CALL(put(p[1], &wpos, 57344)), last_errno));
    say("non-blocking write 10000 into 8192 of room: %s fionread=%d\n",
        rs(CALL(put(p[1], &wpos, 10000)), last_errno), fionread(p[0]));
    say("read it all: %s", rs(CALL(get(p[0], &rpos, 2 * size, &bad)), last_errno));
    say(" bad=%ld positions_agree=%d\n", bad, rpos == wpos);
    say("non-blocking write of PIPE_BUF into an empty pipe: %s\n",
        rs(CALL(put(p[1], &wpos, 4096)), last_errno));
    say("read it: %s", rs(CALL(get(p[0], &rpos, 2 * size, &bad)), last_errno));
    say(" bad=%ld\n", bad);
    close(p[0]);
    close(p[1]);
}

static void pingpong(void) {
    int a[2], b[2];
    pipe(a);
    pipe(b);
    pid_t pid = fork();
    if (pid == 0) {
        long bad = 0;
        unsigned char c;
        for (int i = 0; i < 10000; i++) {
            if (read(a[0], &c, 1) != 1 || c != (unsigned char)(i * 37 + 11))
                bad++;
            c ^= 0x5a;
            if (write(b[1], &c, 1) != 1)
                bad++;
        }
        _exit(bad ? 1 : 0);
    }
    long bad = 0;
    for (int i = 0; i < 10000; i++) {
        unsigned char c = (unsigned char)(i * 37 + 11), d = 0;
        if (write(a[1], &c, 1) != 1)
            bad++;
        if (read(b[0], &d, 1) != 1 || d != (c ^ 0x5a))
            bad++;
    }
    int st;
    waitpid(pid, &st, 0);
    say("ping-pong: rounds=10000 parent_bad=%ld child_status=%d\n", bad, st);
    close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}

static void vectors(void) {
    int p[2];
    pipe(p);
    struct iovec w[3] = {{"def", 3}, {"", 0}, {"gh", 2}};
    write(p[1], "abc", 3);
    say("writev: %s\n", rs(CALL(writev(p[1], w, 3)), last_errno));
    write(p[1], "ij", 2);
    char x[4] = {0}, y[5] = {0}, z[8] = {0};
    struct iovec r[2] = {{x, 4}, {y, 4}};
    say("readv: %s '%.4s' '%.4s'\n", rs(CALL(readv(p[0], r, 2)), last_errno), x, y);
    say("read rest: %s '%s'\n", rs(CALL(read(p[0], z, sizeof z)), last_errno), z);
    struct iovec big[2] = {{z, 8}, {x, 4}};
    set_nonblock(p[0], 1);
    say("readv empty O_NONBLOCK: %s\n", rs(CALL(readv(p[0], big, 2)), last_errno));
    struct iovec bad[2] = {{(void *)0x10, 4}, {"ok", 2}};
    say("writev with a bad first vector: %s fionread=%d\n",
        rs(CALL(writev(p[1], bad, 2)), last_errno), fionread(p[0]));
    close(p[0]);
    close(p[1]);
}

static void resize_wrapped(void) {
    int p[2];
    pipe(p);
    set_nonblock(p[0], 1);
    set_nonblock(p[1], 1);
    unsigned long wpos = 0, rpos = 0;
    long bad = 0;
    say("resize: write 60000: %s", rs(CALL(put(p[1], &wpos, 60000)), last_errno));
    say(" read 50000: %s", rs(CALL(get(p[0], &rpos, 50000, &bad)), last_errno));
    say(" write 40000: %s fionread=%d\n", rs(CALL(put(p[1], &wpos, 40000)), last_errno),
        fionread(p[0]));
    say("resize: F_SETPIPE_SZ 4096 while holding 50000: %s\n",
        rs(CALL(fcntl(p[1], F_SETPIPE_SZ, 4096)), last_errno));
    say("resize: F_SETPIPE_SZ 1 MiB: %s get=%d fionread=%d\n",
        rs(CALL(fcntl(p[1], F_SETPIPE_SZ, 1 << 20)), last_errno), fcntl(p[0], F_GETPIPE_SZ),
        fionread(p[0]));
    long total = 0, n;
    while ((n = get(p[0], &rpos, 7777, &bad)) > 0)
        total += n;
    say("resize: read back %ld bad=%ld then %s\n", total, bad, rs(n, errno));
    say("resize: write 900000: %s", rs(CALL(put(p[1], &wpos, 900000)), last_errno));
    say(" read 800000: %s", rs(CALL(get(p[0], &rpos, 800000, &bad)), last_errno));
    say(" write 900000: %s fionread=%d\n", rs(CALL(put(p[1], &wpos, 900000)), last_errno),
        fionread(p[0]));
    total = 0;
    while ((n = get(p[0], &rpos, 65537, &bad)) > 0)
        total += n;
    say("resize: read back %ld bad=%ld positions_agree=%d\n", total, bad, rpos == wpos);
    close(p[0]);
    close(p[1]);
}

static int sig_fd;
static char sig_byte;
static void on_alarm(int s) {
    (void)s;
    write(sig_fd, &sig_byte, 1);
}

static void interrupted(void) {
    int p[2];
    pipe(p);
    sig_fd = p[1];
    char b[8] = {0};
    struct itimerval it = {{0, 0}, {0, 100000}};
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    sig_byte = 'y';
    setitimer(ITIMER_REAL, &it, NULL);
    long r = CALL(read(p[0], b, sizeof b));
    say("blocked read, signal without SA_RESTART: %s", rs(r, last_errno));
    say(" then %s '%s'\n", rs(CALL(read(p[0], b, sizeof b)), last_errno), b);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    sig_byte = 'x';
    memset(b, 0, sizeof b);
    setitimer(ITIMER_REAL, &it, NULL);
    r = CALL(read(p[0], b, sizeof b));
    say("blocked read, signal with SA_RESTART: %s '%s'\n", rs(r, last_errno), b);
    signal(SIGALRM, SIG_DFL);
    close(p[0]);
    close(p[1]);
}

/* A child that sleeps, then does `what`: the parent is blocked by then. */
static void wakeups(void) {
    int p[2];
    char b[8] = {0};
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(50000);
        write(p[1], "late", 4);
        _exit(0);
    }
    long r = CALL(read(p[0], b, sizeof b));
    say("blocked read woken by another process's write: %s '%s'\n", rs(r, last_errno), b);
    close(p[1]);
    waitpid(pid, NULL, 0);
    close(p[0]);

    pipe(p);
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        usleep(50000);
        _exit(0);               /* closes the last write end */
    }
    close(p[1]);
    r = CALL(read(p[0], b, sizeof b));
    say("blocked read woken by the last writer's exit: %s\n", rs(r, last_errno));
    waitpid(pid, NULL, 0);
    close(p[0]);

    pipe(p);
    pid = fork();
    if (pid == 0) {
        usleep(50000);
        write(p[1], "p", 1);
        _exit(0);
    }
    struct pollfd pf = {p[0], POLLIN, 0};
    int n = poll(&pf, 1, 10000);
    say("poll woken by a write: %d revents=%#x\n", n, pf.revents);
    waitpid(pid, NULL, 0);
    read(p[0], b, sizeof b);

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 77}, out[2];
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    pid = fork();
    if (pid == 0) {
        usleep(50000);
        write(p[1], "e", 1);
        _exit(0);
    }
    n = epoll_wait(ep, out, 2, 10000);
    say("epoll woken by a write: %d events=%#x data=%llu\n", n, n > 0 ? out[0].events : 0,
        n > 0 ? (unsigned long long)out[0].data.u64 : 0ULL);
    waitpid(pid, NULL, 0);
    read(p[0], b, sizeof b);

    /* A writer blocked on a full pipe is woken by a read in another process. */
    set_nonblock(p[1], 1);
    unsigned long wpos = 0;
    while (put(p[1], &wpos, 4096) > 0)
        ;
    set_nonblock(p[1], 0);
    pid = fork();
    if (pid == 0) {
        usleep(50000);
        unsigned long rpos = 0;
        long bad = 0;
        while (rpos < wpos + 3000)
            if (get(p[0], &rpos, 1000, &bad) <= 0)
                break;
        _exit(bad ? 1 : 0);
    }
    r = CALL(put(p[1], &wpos, 3000));
    int st;
    waitpid(pid, &st, 0);
    say("blocked write woken by another process's read: %s reader_status=%d\n",
        rs(r, last_errno), st);
    close(ep);
    close(p[0]);
    close(p[1]);
}

static char cow_page[PG] __attribute__((aligned(PG)));

static void cow_read(void) {
    int p[2];
    pipe(p);
    memset(cow_page, 'P', PG);
    write(p[1], "child-data", 10);
    pid_t pid = fork();
    if (pid == 0) {
        long r = read(p[0], cow_page + 100, 10);
        int ok = r == 10 && !memcmp(cow_page + 100, "child-data", 10) && cow_page[99] == 'P' &&
                 cow_page[110] == 'P';
        _exit(ok ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    int kept = 1;
    for (int i = 0; i < PG; i++)
        kept &= cow_page[i] == 'P';
    say("read into a copy-on-write page: child_status=%d parent_kept_its_page=%d\n", st, kept);

    /* The child has read the page (its translation of the shared frame is
       cached) when the parent's read(2) lands in the same page. */
    int q[2], g[2];
    pipe(q);
    pipe(g);
    write(p[1], "parent-dat", 10);
    pid = fork();
    if (pid == 0) {
        volatile char c = cow_page[200];
        (void)c;
        char b;
        write(q[1], "t", 1);
        read(g[0], &b, 1);          /* wait for the parent's read(2) */
        int ok = 1;
        for (int i = 0; i < PG; i++)
            ok &= cow_page[i] == 'P';
        _exit(ok ? 0 : 1);
    }
    char t;
    read(q[0], &t, 1);
    long r = read(p[0], cow_page + 200, 10);
    write(g[1], "g", 1);
    waitpid(pid, &st, 0);
    say("parent reads into its copy-on-write page: %ld '%.10s' child_kept_its_page=%d\n", r,
        cow_page + 200, st == 0);
    close(q[0]);
    close(q[1]);
    close(g[0]);
    close(g[1]);
    close(p[0]);
    close(p[1]);
}

int main(void) {
    ring_nonblock();
    ring_child_reader();
    zero_length();
    simple_errors();
    faults();
    filling();
    pingpong();
    vectors();
    resize_wrapped();
    interrupted();
    wakeups();
    cow_read();
    say("done\n");
    return 0;
}
