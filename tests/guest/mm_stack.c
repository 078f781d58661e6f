/* The main stack grows on faults below its extent up to RLIMIT_STACK, and
 * a MAP_GROWSDOWN mapping grows the same way.  argv[1]: "deep" recurses
 * past the limit (SIGSEGV, on an alternate stack it is reported). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static long depth_reached;

__attribute__((noinline)) static long recurse(long n) {
    char pad[4096];
    pad[0] = (char)n;
    __asm__ volatile("" : : "r"(pad) : "memory");     /* a real frame per call */
    depth_reached = n;
    if (n == 0)
        return pad[0];
    long r = recurse(n - 1);
    __asm__ volatile("" : : "r"(pad) : "memory");
    return r + pad[0];
}

static void on_segv(int sig) {
    (void)sig;
    /* Each frame is a bit over 4 KiB: report the depth in MiB. */
    printf("SIGSEGV after about %ld MiB\n", depth_reached >= 0 ? (8192 - depth_reached) / 256 : -1);
    _exit(3);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    printf("stack limit %ld MiB\n", (long)(rl.rlim_cur >> 20));
    /* 6 MiB of frames: well past the initial extent, inside the limit. */
    printf("recursion 1536 pages: %ld\n", recurse(1536) & 0xff);

    char *g = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
    g[0] = 1;
    g[-4096 * 3] = 2;           /* below the mapping: it grows */
    printf("growsdown grew: %d %d\n", g[0], g[-4096 * 3]);

    if (argc > 1 && !strcmp(argv[1], "deep")) {
        static char alt[65536];
        stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
        sigaltstack(&ss, NULL);
        struct sigaction sa = {.sa_handler = on_segv, .sa_flags = SA_ONSTACK};
        sigaction(SIGSEGV, &sa, NULL);
        depth_reached = 8192;
        printf("deep: %ld\n", recurse(8192));       /* 32 MiB: past 8 MiB */
    }
    return 0;
}
