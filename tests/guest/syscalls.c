/* Single-process syscall coverage. One line per check; output is deterministic
 * except the uid/gid values (which reflect the caller).
 *   syscalls [TMPFILE]   (default /tmp/akuma_syscalls_test) */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void out(const char *s) {
    /* Everything goes through raw write(2) so output ordering is trivial. */
    write(1, s, strlen(s));
}

static char line[512];
#define P(...) do { snprintf(line, sizeof line, __VA_ARGS__); out(line); } while (0)

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/tmp/akuma_syscalls_test";
    long r;

    /* write / writev */
    r = write(1, "write ok\n", 9);
    P("write ret=%ld\n", r);
    struct iovec iov[3] = {
        {"writev ", 7}, {"ok", 2}, {"\n", 1},
    };
    r = writev(1, iov, 3);
    P("writev ret=%ld\n", r);

    /* file I/O */
    static const char msg[] = "akuma file test\n";
    size_t mlen = sizeof msg - 1;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    P("open %s\n", fd >= 0 ? "ok" : "FAIL");
    if (fd >= 0) {
        r = write(fd, msg, mlen);
        P("file write ret=%ld\n", r);
        r = lseek(fd, 0, SEEK_SET);
        P("lseek ret=%ld\n", r);
        char buf[64] = {0};
        r = read(fd, buf, sizeof buf);
        P("file read ret=%ld match=%d\n", r, r == (long)mlen && memcmp(buf, msg, mlen) == 0);
        r = read(fd, buf, sizeof buf);
        P("file read eof ret=%ld\n", r);
        r = lseek(fd, 6, SEEK_SET);
        r = read(fd, buf, 4);
        buf[4] = 0;
        P("pread-ish ret=%ld data=%s\n", r, buf);
        struct stat st;
        r = fstat(fd, &st);
        P("fstat ret=%ld size=%ld reg=%d\n", r, (long)st.st_size, S_ISREG(st.st_mode));
        r = close(fd);
        P("close ret=%ld\n", r);
    }
    r = unlink(path);
    P("unlink ret=%ld\n", r);
    errno = 0;
    r = access(path, F_OK);
    P("access after unlink ret=%ld errno=%d\n", r, errno);

    /* brk (musl's sbrk(n!=0) always fails with ENOMEM, so use the raw syscall) */
    unsigned long cur = (unsigned long)syscall(SYS_brk, 0);
    unsigned long want = cur + 256 * 1024;
    unsigned long got = (unsigned long)syscall(SYS_brk, want);
    int brk_ok = cur != 0 && got == want;
    if (brk_ok) {
        memset((void *)cur, 0x5a, want - cur);
        brk_ok = ((volatile unsigned char *)cur)[want - cur - 1] == 0x5a;
        unsigned long back = (unsigned long)syscall(SYS_brk, cur);
        brk_ok = brk_ok && back == cur;
    }
    P("brk %s\n", brk_ok ? "ok" : "FAIL");

    /* mmap anonymous 1 MiB */
    size_t mlen2 = 1 << 20;
    unsigned char *m = mmap(NULL, mlen2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        P("mmap FAIL errno=%d\n", errno);
    } else {
        int zero = m[0] == 0 && m[mlen2 - 1] == 0;
        for (size_t i = 0; i < mlen2; i += 4096) m[i] = (unsigned char)i;
        m[mlen2 - 1] = 0x77;
        int ok = zero && m[4096] == 0 && m[8192] == 0 && m[mlen2 - 1] == 0x77;
        P("mmap %s\n", ok ? "ok" : "FAIL");
        r = munmap(m, mlen2);
        P("munmap ret=%ld\n", r);
    }

    /* mprotect */
    unsigned char *pg = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pg == MAP_FAILED) {
        P("mprotect mmap FAIL\n");
    } else {
        pg[0] = 0x42;
        r = mprotect(pg, 4096, PROT_READ);
        P("mprotect ret=%ld readback=%d\n", r, ((volatile unsigned char *)pg)[0] == 0x42);
        munmap(pg, 4096);
    }

    /* uname */
    struct utsname u;
    r = uname(&u);
    P("uname ret=%ld\n", r);
    P("sysname=%s\n", u.sysname);
    P("machine=%s\n", u.machine);

    /* clocks */
    struct timespec t1, t2;
    int c1 = clock_gettime(CLOCK_MONOTONIC, &t1);
    int c2 = clock_gettime(CLOCK_MONOTONIC, &t2);
    int nondec = t2.tv_sec > t1.tv_sec || (t2.tv_sec == t1.tv_sec && t2.tv_nsec >= t1.tv_nsec);
    P("clock %s\n", c1 == 0 && c2 == 0 && nondec ? "ok" : "FAIL");
    struct timespec rt;
    r = clock_gettime(CLOCK_REALTIME, &rt);
    P("realtime %s\n", r == 0 && rt.tv_sec > 1600000000 ? "ok" : "FAIL");
    struct timeval tv;
    r = gettimeofday(&tv, NULL);
    P("gettimeofday %s\n", r == 0 && tv.tv_sec > 1600000000 && tv.tv_usec < 1000000 ? "ok" : "FAIL");
    struct timespec s0, s1, req = {0, 10 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &s0);
    r = nanosleep(&req, NULL);
    clock_gettime(CLOCK_MONOTONIC, &s1);
    long long el = (s1.tv_sec - s0.tv_sec) * 1000000000LL + (s1.tv_nsec - s0.tv_nsec);
    P("nanosleep %s\n", r == 0 && el >= 10 * 1000 * 1000 ? "ok" : "FAIL");

    /* ids */
    P("getpid %s\n", getpid() > 0 ? "ok" : "FAIL");
    P("getppid %s\n", getppid() >= 0 ? "ok" : "FAIL");
    P("uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(), (int)getgid(), (int)getegid());

    /* ioctl TCGETS on stdout */
    struct termios tio;
    errno = 0;
    r = ioctl(1, TCGETS, &tio);
    if (r == 0)
        P("tty\n");
    else
        P("notty errno=%d\n", errno);

    /* rlimits */
    struct rlimit rl;
    r = getrlimit(RLIMIT_STACK, &rl);
    P("getrlimit ret=%ld\n", r);
    struct rlimit rl2;
    r = syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &rl2);
    P("prlimit64 ret=%ld same=%d\n", r, r == 0 && rl2.rlim_cur == rl.rlim_cur && rl2.rlim_max == rl.rlim_max);

    r = sched_yield();
    P("sched_yield ret=%ld\n", r);

    /* error paths */
    errno = 0;
    r = openat(AT_FDCWD, "/nonexistent/akuma/missing", O_RDONLY);
    P("openat missing ret=%ld errno=%d\n", r, errno);
    char b;
    errno = 0;
    r = read(987, &b, 1);
    P("read badfd ret=%ld errno=%d\n", r, errno);
    errno = 0;
    r = write(1, (void *)1, 8);
    P("write badptr ret=%ld errno=%d\n", r, errno);

    P("done\n");
    return 0;
}
