/* Address-space isolation under many context switches.  The kernel keeps
   the translations of two page tables cached at once (no flush when two
   processes take turns), so a stale translation would show up here as a
   process seeing another's memory, or its own old memory:
   (a) two processes forked from one ping-pong 2000 times; at each turn
       each writes its tag into the same global, heap and stack addresses
       and checks them after the other ran;
   (b) the same with three processes in a ring (every switch evicts);
   (c) copy-on-write after fork with the child's translation cached: the
       parent's write, the child's, a read(2) by the kernel into a shared
       page, each side then sees its own values;
   (d) both processes munmap/mmap (and MAP_FIXED over) a page at the same
       fixed address: a new page reads as zeros, each keeps its own;
   (e) a MAP_SHARED anonymous page (touched before fork and not) written
       by one and read by the other at every switch;
   (f) a shared file mapping shrunk by the other process (SIGBUS for the
       page past the end), grown again and rewritten with pwrite(2);
   (g) short-lived children one after the other (slots freed and reused).
   One line per check and a summary; exit status 0. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096
#define FIXED ((void *)0x7000000000UL)

static int total_bad;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static void report(const char *what, long bad) {
    if (bad)
        total_bad++;
    if (bad)
        say("%s: BAD %ld\n", what, bad);
    else
        say("%s: ok\n", what);
}

static void token_out(int fd) {
    char c = 't';
    if (write(fd, &c, 1) != 1)
        _exit(90);
}

static void token_in(int fd) {
    char c;
    if (read(fd, &c, 1) != 1)
        _exit(91);
}

/* (who, value) in one write: atomic on a pipe, whatever the order. */
static void send_pair(int fd, long who, long v) {
    long m[2] = {who, v};
    if (write(fd, m, sizeof m) != sizeof m)
        _exit(92);
}

static int recv_pair(int fd, long *who, long *v) {
    long m[2];
    if (read(fd, m, sizeof m) != sizeof m)
        return -1;
    *who = m[0];
    *v = m[1];
    return 0;
}

/* --------------------------------------------------- (a), (b), (g): tags */

static volatile long g_var;
static volatile long g_pages[3 * PG / sizeof(long)] __attribute__((aligned(PG)));
static volatile long *heap;     /* 3 pages */

#define SLOTS 7
/* Write ``tag`` into every place; ``stack`` is the caller's array. */
static void set_tags(volatile long *stack, long tag) {
    g_var = tag;
    for (int k = 0; k < 3; k++) {
        g_pages[k * PG / sizeof(long)] = tag + k;
        heap[k * PG / sizeof(long) + 5] = tag + 10 + k;
    }
    stack[0] = tag + 20;
    stack[1023] = tag + 21;
}

/* The number of places that do not hold ``tag``. */
static long check_tags(volatile long *stack, long tag) {
    long bad = g_var != tag;
    for (int k = 0; k < 3; k++) {
        bad += g_pages[k * PG / sizeof(long)] != tag + k;
        bad += heap[k * PG / sizeof(long) + 5] != tag + 10 + k;
    }
    bad += stack[0] != tag + 20;
    bad += stack[1023] != tag + 21;
    return bad;
}

static long tag_of(int who, int round) {
    return ((long)(who + 1) << 40) | ((long)round << 8);
}

/* One member of a ring of n processes: waits for the token from ``in``,
   checks its values, writes new ones, passes the token to ``out``.
   Process 0 starts. */
static long ring_member(int who, int n, int in, int out, int rounds) {
    volatile long stack[1024];
    long bad = 0;
    (void)n;
    for (int r = 0; r < rounds; r++) {
        if (who != 0 || r != 0)
            token_in(in);
        if (r > 0)
            bad += check_tags(stack, tag_of(who, r - 1));
        set_tags(stack, tag_of(who, r));
        token_out(out);
    }
    if (who == 0)
        token_in(in);
    bad += check_tags(stack, tag_of(who, rounds - 1));
    return bad;
}

static void ring(int n, int rounds, const char *what) {
    int pipes[3][2], res[2];
    pipe(res);
    for (int i = 0; i < n; i++)
        pipe(pipes[i]);
    /* Values before fork: the first writes break copy-on-write. */
    volatile long stack[1024];
    set_tags(stack, 0x5a5a);
    pid_t pids[3];
    for (int who = 1; who < n; who++) {
        pids[who] = fork();
        if (pids[who] == 0) {
            /* pipe i carries the token from i to i+1. */
            long bad = ring_member(who, n, pipes[who - 1][0], pipes[who][1], rounds);
            send_pair(res[1], who, bad);
            _exit(0);
        }
    }
    long bad0 = ring_member(0, n, pipes[n - 1][0], pipes[0][1], rounds);
    long bad[3] = {bad0, 0, 0};
    for (int who = 1; who < n; who++) {
        int st;
        waitpid(pids[who], &st, 0);
        bad[who] = st == 0 ? 0 : 1000;
    }
    long got[3] = {1, 0, 0};
    for (int i = 1; i < n; i++) {
        long who, v;
        if (recv_pair(res[0], &who, &v) == 0 && who > 0 && who < n) {
            bad[who] += v;
            got[who] = 1;
        }
    }
    for (int who = 1; who < n; who++)
        bad[who] += got[who] ? 0 : 1000;
    char line[100];
    for (int who = 0; who < n; who++) {
        snprintf(line, sizeof line, "%s: process %d, %d turns", what, who, rounds);
        report(line, bad[who]);
    }
    for (int i = 0; i < n; i++) {
        close(pipes[i][0]);
        close(pipes[i][1]);
    }
    close(res[0]);
    close(res[1]);
}

/* Children one after the other, a few turns each, against a parent that
   keeps its own values. */
static void churn(int children, int turns) {
    volatile long stack[1024];
    long bad = 0, child_bad = 0;
    for (int c = 0; c < children; c++) {
        int to[2], from[2];
        pipe(to);
        pipe(from);
        set_tags(stack, tag_of(0, c));
        pid_t pid = fork();
        if (pid == 0) {
            long b = 0;
            for (int r = 0; r < turns; r++) {
                token_in(to[0]);
                if (r > 0)
                    b += check_tags(stack, tag_of(1 + c, r - 1));
                else
                    b += check_tags(stack, tag_of(0, c));   /* the fork copy */
                set_tags(stack, tag_of(1 + c, r));
                token_out(from[1]);
            }
            _exit(b > 100 ? 100 : (int)b);
        }
        for (int r = 0; r < turns; r++) {
            token_out(to[1]);
            token_in(from[0]);
            bad += check_tags(stack, tag_of(0, c));
        }
        int st;
        waitpid(pid, &st, 0);
        child_bad += WIFEXITED(st) ? WEXITSTATUS(st) : 1000;
        close(to[0]); close(to[1]); close(from[0]); close(from[1]);
    }
    char line[100];
    snprintf(line, sizeof line, "(g) %d short-lived children: parent", children);
    report(line, bad);
    snprintf(line, sizeof line, "(g) %d short-lived children: children", children);
    report(line, child_bad);
}

/* ------------------------------------------------------- (c) copy-on-write */

static volatile long cow_data[PG / sizeof(long)] __attribute__((aligned(PG)));
static volatile long cow_kern[PG / sizeof(long)] __attribute__((aligned(PG)));

static void cow(int iterations) {
    long bad_p = 0, bad_c = 0;
    volatile long *anon = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                               -1, 0);
    for (int it = 0; it < iterations; it++) {
        long X = 1000 + it, Y = 2000 + it, Z = 3000 + it, K = 4000 + it;
        cow_data[3] = X;
        anon[3] = X;
        cow_kern[3] = X;
        int to[2], from[2], data[2];
        pipe(to);
        pipe(from);
        pipe(data);
        pid_t pid = fork();
        if (pid == 0) {
            long b = 0;
            b += cow_data[3] != X;          /* 1: the child's translations cached */
            b += anon[3] != X;
            b += cow_kern[3] != X;
            token_out(from[1]);
            token_in(to[0]);                /* 2: the parent wrote Y */
            b += cow_data[3] != X;          /* 3: still X */
            b += anon[3] != X;
            cow_data[3] = Z;                /* 4 */
            anon[3] = Z;
            /* The kernel writes into a page still shared with the parent. */
            b += read(data[0], (void *)&cow_kern[3], sizeof(long)) != sizeof(long);
            b += cow_kern[3] != K;
            token_out(from[1]);
            token_in(to[0]);                /* 5: the parent read */
            b += cow_data[3] != Z;          /* 6 */
            b += anon[3] != Z;
            b += cow_kern[3] != K;
            _exit(b > 100 ? 100 : (int)b);
        }
        token_in(from[0]);
        cow_data[3] = Y;                    /* 2 */
        anon[3] = Y;
        write(data[1], &K, sizeof K);
        token_out(to[1]);
        token_in(from[0]);
        bad_p += cow_data[3] != Y;          /* 5 */
        bad_p += anon[3] != Y;
        bad_p += cow_kern[3] != X;
        token_out(to[1]);
        int st;
        waitpid(pid, &st, 0);
        bad_c += WIFEXITED(st) ? WEXITSTATUS(st) : 1000;
        bad_p += cow_data[3] != Y || anon[3] != Y || cow_kern[3] != X;
        close(to[0]); close(to[1]); close(from[0]); close(from[1]);
        close(data[0]); close(data[1]);
    }
    munmap((void *)anon, PG);
    char line[100];
    snprintf(line, sizeof line, "(c) copy-on-write, %d forks: parent", iterations);
    report(line, bad_p);
    snprintf(line, sizeof line, "(c) copy-on-write, %d forks: child", iterations);
    report(line, bad_c);
}

/* --------------------------------------------- (d) remapping a fixed page */

/* Replace the page at FIXED with a new one (munmap then mmap, or MAP_FIXED
   over it); returns the number of words of the new page that are not 0. */
static long remap_fixed(int how) {
    if (how == 0)
        munmap(FIXED, PG);
    volatile long *p = mmap(FIXED, PG, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if ((void *)p != FIXED)
        return 1000;
    long nz = 0;
    for (int i = 0; i < PG / (int)sizeof(long); i += 64)
        nz += p[i] != 0;
    return nz;
}

static long fixed_check(long tag) {
    volatile long *p = FIXED;
    return (p[0] != tag) + (p[100] != tag + 1) + (p[511] != tag + 2);
}

static void fixed_set(long tag) {
    volatile long *p = FIXED;
    p[0] = tag;
    p[100] = tag + 1;
    p[511] = tag + 2;
}

static void fixed_remap(int rounds) {
    int to[2], from[2];
    pipe(to);
    pipe(from);
    mmap(FIXED, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    fixed_set(0x77);                            /* inherited, copy-on-write */
    pid_t pid = fork();
    int child = pid == 0;
    int in = child ? to[0] : from[0], out = child ? from[1] : to[1];
    long bad = 0, nonzero = 0;
    long mine = 0x77;
    if (child) {
        /* The child maps its own page there at once. */
        nonzero += remap_fixed(0);
        mine = tag_of(9, 0);
        fixed_set(mine);
        token_out(out);
    }
    for (int r = 1; r <= rounds; r++) {
        token_in(in);
        bad += fixed_check(mine);               /* the other one ran meanwhile */
        if (r % 3 != 2) {                       /* remap two turns in three */
            nonzero += remap_fixed(r % 2);
            mine = tag_of(child ? 9 : 8, r);
            fixed_set(mine);
        }
        bad += fixed_check(mine);
        if (!(child && r == rounds))
            token_out(out);
    }
    if (child) {
        _exit((bad > 100 ? 100 : (int)bad) | (nonzero ? 128 : 0));
    }
    bad += fixed_check(mine);
    int st;
    waitpid(pid, &st, 0);
    munmap(FIXED, PG);
    char line[100];
    snprintf(line, sizeof line, "(d) page remapped at %p, %d turns: parent", FIXED, rounds);
    report(line, bad + nonzero * 1000);
    snprintf(line, sizeof line, "(d) page remapped at %p, %d turns: child", FIXED, rounds);
    report(line, WIFEXITED(st) ? WEXITSTATUS(st) : 1000);
    close(to[0]); close(to[1]); close(from[0]); close(from[1]);
}

/* ------------------------------------------------------- (e) MAP_SHARED */

static void shared_anon(int rounds) {
    int to[2], from[2];
    pipe(to);
    pipe(from);
    volatile long *sh = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                             -1, 0);
    volatile long *priv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                               -1, 0);
    const int second = PG / sizeof(long);       /* page 1: untouched before fork */
    sh[0] = -1;
    priv[0] = -1;
    pid_t pid = fork();
    if (pid == 0) {
        long b = 0;
        for (int r = 0; r < rounds; r++) {
            token_in(to[0]);
            b += sh[0] != 2L * r || sh[second + 7] != 2L * r;
            b += priv[0] != (r ? 2L * r - 1 : -1);
            sh[0] = 2L * r + 1;
            sh[second + 7] = 2L * r + 1;
            priv[0] = 2L * r + 1;
            token_out(from[1]);
        }
        _exit(b > 100 ? 100 : (int)b);
    }
    long bad = 0;
    for (int r = 0; r < rounds; r++) {
        sh[0] = 2L * r;
        sh[second + 7] = 2L * r;
        priv[0] = 2L * r;
        token_out(to[1]);
        token_in(from[0]);
        bad += sh[0] != 2L * r + 1 || sh[second + 7] != 2L * r + 1;
        bad += priv[0] != 2L * r;
    }
    int st;
    waitpid(pid, &st, 0);
    char line[100];
    snprintf(line, sizeof line, "(e) MAP_SHARED anonymous, %d turns: parent", rounds);
    report(line, bad);
    snprintf(line, sizeof line, "(e) MAP_SHARED anonymous, %d turns: child", rounds);
    report(line, WIFEXITED(st) ? WEXITSTATUS(st) : 1000);
    munmap((void *)sh, 2 * PG);
    munmap((void *)priv, PG);
    close(to[0]); close(to[1]); close(from[0]); close(from[1]);
}

/* ------------------------------------------ (f) file shrunk by the other */

static sigjmp_buf bus_jmp;
static volatile int bus_seen;
static void on_bus(int sig) {
    (void)sig;
    bus_seen++;
    siglongjmp(bus_jmp, 1);
}

/* The word at p, or -2 after a SIGBUS. */
static long probe(volatile long *p) {
    if (sigsetjmp(bus_jmp, 1))
        return -2;
    return *p;
}

static void shrunk_file(int iterations) {
    struct sigaction sa = {0};
    sa.sa_handler = on_bus;
    sigaction(SIGBUS, &sa, NULL);
    const int second = PG / sizeof(long);
    long bad_p = 0, bad_c = 0;
    for (int it = 0; it < iterations; it++) {
        int fd = memfd_create("tlb_slots", 0);
        ftruncate(fd, 2 * PG);
        volatile long *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        m[0] = 10 + it;
        m[second] = 20 + it;
        int to[2], from[2];
        pipe(to);
        pipe(from);
        pid_t pid = fork();
        if (pid == 0) {
            long b = 0;
            b += probe(&m[second]) != 20 + it;      /* cached in the child */
            token_out(from[1]);
            token_in(to[0]);                        /* the parent shrank the file */
            b += probe(&m[second]) != -2;           /* SIGBUS */
            b += probe(&m[0]) != 10 + it;
            token_out(from[1]);
            token_in(to[0]);                        /* grown again, rewritten */
            b += probe(&m[second]) != 30 + it;
            m[second + 1] = 40 + it;
            token_out(from[1]);
            _exit(b > 100 ? 100 : (int)b);
        }
        token_in(from[0]);
        ftruncate(fd, PG);
        token_out(to[1]);
        token_in(from[0]);
        ftruncate(fd, 2 * PG);
        long v = 30 + it;
        pwrite(fd, &v, sizeof v, PG);
        token_out(to[1]);
        token_in(from[0]);
        bad_p += probe(&m[second]) != 30 + it;
        bad_p += probe(&m[second + 1]) != 40 + it;
        int st;
        waitpid(pid, &st, 0);
        bad_c += WIFEXITED(st) ? WEXITSTATUS(st) : 1000;
        munmap((void *)m, 2 * PG);
        close(fd);
        close(to[0]); close(to[1]); close(from[0]); close(from[1]);
    }
    signal(SIGBUS, SIG_DFL);
    char line[100];
    snprintf(line, sizeof line, "(f) shared file shrunk by the other, %d times: parent",
             iterations);
    report(line, bad_p);
    snprintf(line, sizeof line, "(f) shared file shrunk by the other, %d times: child",
             iterations);
    report(line, bad_c);
}

int main(void) {
    heap = malloc(4 * PG);
    ring(2, 2000, "(a) two processes");
    ring(3, 2000, "(b) three processes");
    cow(50);
    fixed_remap(600);
    shared_anon(2000);
    shrunk_file(20);
    churn(100, 4);
    if (total_bad)
        say("tlb_slots: %d checks BAD\n", total_bad);
    else
        say("tlb_slots: all ok\n");
    return 0;
}
