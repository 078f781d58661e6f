/* Isolation: the parent holds a secret at an address the child does not
 * map; the child (a fresh exec, not a fork copy) points every
 * pointer-taking syscall at it and must get EFAULT or its own memory.
 * Prints one line per attempt; "LEAK" if the secret ever shows up. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECRET "TOP-SECRET-5f3a9c1e-do-not-leak"
#define ADDR ((char *)0x5a5a0000000UL)
#define LEN 4096

static int leaked;

static void check(const char *what, long r, const char *buf, size_t n) {
    if (buf && n && memmem(buf, n, SECRET, sizeof SECRET - 1)) {
        leaked = 1;
        printf("%s: LEAK\n", what);
        return;
    }
    printf("%s: %s\n", what, r < 0 ? strerror(errno) : "ok, no secret");
}

static void attack(pid_t victim) {
    int p[2];
    pipe(p);
    char buf[LEN];
    long r;

    errno = 0; r = write(p[1], ADDR, 64); check("write from it", r, NULL, 0);
    int mf = memfd_create("iso", 0);
    ftruncate(mf, LEN);
    errno = 0; r = pwrite(mf, ADDR, 64, 0); check("pwrite from it", r, NULL, 0);
    errno = 0; r = pread(mf, ADDR, 64, 0); check("pread into it", r, NULL, 0);
    struct iovec iv = {ADDR, 64};
    errno = 0; r = writev(p[1], &iv, 1); check("writev from it", r, NULL, 0);
    write(p[1], "x", 1);
    errno = 0; r = read(p[0], ADDR, 1); check("read into it", r, NULL, 0);
    write(p[1], "x", 1);
    errno = 0; r = readv(p[0], &iv, 1); check("readv into it", r, NULL, 0);
    errno = 0; r = open(ADDR, O_RDONLY); check("open path at it", r, NULL, 0);
    struct stat st;
    errno = 0; r = stat(ADDR, &st); check("stat path at it", r, NULL, 0);
    errno = 0; r = syscall(SYS_getcwd, ADDR, 64); check("getcwd into it", r, NULL, 0);
    errno = 0; r = syscall(SYS_uname, ADDR); check("uname into it", r, NULL, 0);
    errno = 0; r = syscall(SYS_clock_gettime, 0, ADDR); check("clock_gettime into it", r, NULL, 0);
    errno = 0; r = syscall(SYS_getrandom, ADDR, 16, 0); check("getrandom into it", r, NULL, 0);

    struct iovec local = {buf, sizeof buf}, remote = {ADDR, 64};
    memset(buf, 0, sizeof buf);
    errno = 0; r = syscall(SYS_process_vm_readv, victim, &local, 1, &remote, 1, 0);
    check("process_vm_readv", r, buf, sizeof buf);
    errno = 0; r = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, victim, 0, 0);
    check("ptrace attach", r, NULL, 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", victim);
    memset(buf, 0, sizeof buf);
    errno = 0;
    int mfd = open(path, O_RDONLY);
    r = mfd < 0 ? -1 : pread(mfd, buf, 64, (off_t)ADDR);
    check("/proc/pid/mem", r, buf, sizeof buf);

    /* Mapping the same address gives our own, zeroed page. */
    char *m = mmap(ADDR, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check("own map at it", m == ADDR ? 0 : -1, m == ADDR ? m : NULL, LEN);
    errno = 0; r = write(p[1], ADDR, 64);
    r = read(p[0], buf, sizeof buf); check("write from own map", r, buf, r > 0 ? r : 0);
    printf("%s\n", leaked ? "LEAKED" : "isolated");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && !strcmp(argv[1], "attack")) {
        attack(atoi(argv[2]));
        return 0;
    }
    char *s = mmap(ADDR, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (s != ADDR) { printf("mmap failed\n"); return 1; }
    strcpy(s, SECRET);
    int ready[2];
    pipe(ready);
    pid_t c = fork();
    if (c == 0) {
        char pid[16];
        snprintf(pid, sizeof pid, "%d", getppid());
        execl("/proc/self/exe", argv[0], "attack", pid, (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(c, &status, 0);
    printf("secret intact: %d\n", strcmp(s, SECRET) == 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}
