/* Memory benchmarks; each prints the time of its measured phase only
 * (start-up excluded), as "<mode> <ns> ns <units> <unit>".
 *   fault MiB          touch every page of a fresh anonymous mapping
 *   cowfork MiB N      N x (fork a process with MiB touched; the child
 *                      writes one page and exits; wait)
 *   random MiB N       N random 8-byte loads+stores over MiB
 *   readfile MiB N     N x read(2) of a MiB file (tmpfs) into a buffer */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static char *anon(size_t n) {
    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    return p;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *mode = argv[1];
    size_t size = (size_t)atol(argv[2]) << 20;
    long n = argc > 3 ? atol(argv[3]) : 1;
    long long t0, t1;
    if (!strcmp(mode, "fault")) {
        /* n rounds; the last is timed (earlier ones warm the host's RAM). */
        for (long k = 1; k < n; k++) {
            char *w = anon(size);
            for (size_t i = 0; i < size; i += 4096) w[i] = 1;
            munmap(w, size);
        }
        char *p = anon(size);
        t0 = now();
        for (size_t i = 0; i < size; i += 4096) p[i] = 1;
        t1 = now();
        printf("fault %lld ns %zu pages\n", t1 - t0, size / 4096);
    } else if (!strcmp(mode, "cowfork")) {
        char *p = anon(size);
        memset(p, 1, size);
        t0 = now();
        for (long k = 0; k < n; k++) {
            pid_t c = fork();
            if (c == 0) { p[size / 2] = 2; _exit(0); }
            waitpid(c, NULL, 0);
        }
        t1 = now();
        printf("cowfork %lld ns %ld forks\n", t1 - t0, n);
    } else if (!strcmp(mode, "random")) {
        uint64_t *p = (uint64_t *)anon(size);
        size_t words = size / 8;
        memset(p, 0, size);
        uint64_t x = 88172645463325252ULL, sum = 0;
        t0 = now();
        for (long k = 0; k < n; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            size_t i = x % words;
            sum += p[i];
            p[i] = sum + k;
        }
        t1 = now();
        printf("random %lld ns %ld accesses (%llu)\n", t1 - t0, n, (unsigned long long)(sum & 1));
    } else if (!strcmp(mode, "readfile")) {
        char path[] = "/tmp/mm_bench_XXXXXX";
        int fd = mkstemp(path);
        char *buf = anon(size);
        memset(buf, 3, size);
        if (write(fd, buf, size) != (ssize_t)size) { perror("write"); return 1; }
        t0 = now();
        for (long k = 0; k < n; k++) {
            size_t got = 0;
            lseek(fd, 0, SEEK_SET);
            while (got < size) {
                ssize_t r = read(fd, buf + got, size - got);
                if (r <= 0) { perror("read"); return 1; }
                got += r;
            }
        }
        t1 = now();
        unlink(path);
        printf("readfile %lld ns %ld MiB\n", t1 - t0, n * (long)(size >> 20));
    } else {
        return 2;
    }
    return 0;
}
