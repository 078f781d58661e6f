/* File mappings: memfd_create and seals, MAP_SHARED coherence between two
 * processes and with read/write(2), msync argument checks, SIGBUS past EOF
 * (si_code, si_addr), MAP_PRIVATE copy-on-write over a file.
 * argv[1]: a directory for the regular-file cases (a tmpfs). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/futex.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile void *bus_addr;
static volatile int bus_code;

static void on_bus(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    bus_addr = si->si_addr;
    bus_code = si->si_code;
    siglongjmp(jb, 1);
}

static void shared_between_processes(int fd, const char *what) {
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { printf("%s: mmap failed errno=%d\n", what, errno); return; }
    strcpy(p, "parent");
    pid_t c = fork();
    if (c == 0) {
        /* The child maps the file afresh as well: both views are the file. */
        char *q = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        printf("%s: child sees '%s' '%s'\n", what, p, q);
        strcpy(q + 4096, "from-child");
        strcpy(p + 100, "child-inherited");
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("%s: parent sees '%s' '%s'\n", what, p + 4096, p + 100);
    /* read(2) sees the stores through the mapping, write(2) reaches it. */
    char buf[16] = {0};
    pread(fd, buf, 10, 4096);
    printf("%s: pread '%s'\n", what, buf);
    pwrite(fd, "WRITTEN", 7, 200);
    printf("%s: mapping after pwrite '%s'\n", what, p + 200);
    printf("%s: msync=%d\n", what, msync(p, 8192, MS_SYNC));
    munmap(p, 8192);
}

static void memfd_cases(void) {
    int fd = memfd_create("akuma-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    printf("memfd: fd>=0 %d cloexec %d\n", fd >= 0, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    printf("memfd: ftruncate %d size ", ftruncate(fd, 8192));
    struct stat st;
    fstat(fd, &st);
    printf("%ld regular %d\n", (long)st.st_size, S_ISREG(st.st_mode));
    shared_between_processes(fd, "memfd");
    /* Seals. */
    printf("memfd: seals %#x\n", fcntl(fd, F_GET_SEALS));
    char *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    errno = 0;
    printf("memfd: seal write while mapped %d errno %d\n",
           fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), errno);
    munmap(w, 4096);
    printf("memfd: add shrink|grow %d\n", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
    errno = 0;
    printf("memfd: shrink %d errno %d\n", ftruncate(fd, 4096), errno);
    errno = 0;
    printf("memfd: grow by write %zd errno %d\n", pwrite(fd, "x", 1, 8192), errno);
    printf("memfd: write inside %zd\n", pwrite(fd, "y", 1, 10));
    printf("memfd: add write|seal %d\n", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL));
    errno = 0;
    printf("memfd: write sealed %zd errno %d\n", pwrite(fd, "y", 1, 10), errno);
    errno = 0;
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("memfd: writable shared map sealed %d errno %d\n", m == MAP_FAILED, errno);
    m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("memfd: read-only map ok %d first '%s'\n", m != MAP_FAILED, (char *)m);
    errno = 0;
    printf("memfd: add after SEAL_SEAL %d errno %d\n", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), errno);
    printf("memfd: seals %#x\n", fcntl(fd, F_GET_SEALS));
    int plain = memfd_create("plain", 0);
    errno = 0;
    printf("memfd: no sealing %d errno %d seals %#x\n", fcntl(plain, F_ADD_SEALS, F_SEAL_GROW),
           errno, fcntl(plain, F_GET_SEALS));
    errno = 0;
    printf("memfd: bad flags %d errno %d\n", memfd_create("x", 0x100), errno);
    close(plain);
    close(fd);
}

static void eof_sigbus(int fd, const char *what) {
    ftruncate(fd, 100);
    char *p = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("%s: inside last page '%d'\n", what, p[4000]);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    if (sigsetjmp(jb, 1) == 0) {
        volatile char c = p[4096 + 123];
        (void)c;
        printf("%s: no SIGBUS\n", what);
    } else {
        printf("%s: SIGBUS code %d addr offset %ld\n", what, bus_code, (long)((char *)bus_addr - p));
    }
    munmap(p, 3 * 4096);
}

static void shrink_while_mapped(int fd, const char *what) {
    /* Shrinking a file under a live shared mapping: the tail of the last page
       reads as zeros and the page past the end is gone (SIGBUS). */
    ftruncate(fd, 8192);
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memset(p, 'a', 8192);
    ftruncate(fd, 100);
    printf("%s: shrunk under the mapping, byte 99 '%c' byte 200 %d\n", what, p[99], p[200]);
    if (sigsetjmp(jb, 1) == 0) {
        volatile char c = p[4096 + 1];
        (void)c;
        printf("%s: shrunk page still there\n", what);
    } else {
        printf("%s: shrunk page SIGBUS code %d\n", what, bus_code);
    }
    munmap(p, 8192);
}

static void futex_across_processes(int fd, const char *what) {
    /* A shared (non-private) futex in a shared file page: the key is the
       page, so a wake in one process reaches a waiter in another.  The
       second page has not been touched before the child waits on it. */
    ftruncate(fd, 8192);
    unsigned *w = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    unsigned *word = w + 1024;
    pid_t c = fork();
    if (c == 0) {
        while (__atomic_load_n(word, __ATOMIC_SEQ_CST) == 0)
            syscall(SYS_futex, word, FUTEX_WAIT, 0, NULL, NULL, 0);
        _exit(*word == 7 ? 0 : 1);
    }
    usleep(100000);
    __atomic_store_n(word, 7, __ATOMIC_SEQ_CST);
    long woken = syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
    int st;
    waitpid(c, &st, 0);
    printf("%s: futex across processes woken=%ld child=%d\n", what, woken,
           WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    munmap(w, 8192);
}

static void private_cases(int fd, const char *what) {
    ftruncate(fd, 4096);
    pwrite(fd, "original", 8, 0);
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("%s: private reads '%.8s'\n", what, p);
    memcpy(p, "changed!", 8);
    char buf[9] = {0};
    pread(fd, buf, 8, 0);
    printf("%s: file still '%s' mapping '%.8s'\n", what, buf, p);
    munmap(p, 4096);
}

static void msync_errors(void) {
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = 0;
    printf("msync: unaligned %d errno %d\n", msync(p + 1, 10, MS_SYNC), errno);
    errno = 0;
    printf("msync: both %d errno %d\n", msync(p, 10, MS_SYNC | MS_ASYNC), errno);
    errno = 0;
    printf("msync: bad flag %d errno %d\n", msync(p, 10, 8), errno);
    munmap(p, 4096);
    errno = 0;
    printf("msync: unmapped %d errno %d\n", msync(p, 4096, MS_SYNC), errno);
    printf("msync: anon %d\n", msync(p - 4096 * 16, 0, MS_ASYNC));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    memfd_cases();
    int m = memfd_create("eof", 0);
    eof_sigbus(m, "memfd");
    shrink_while_mapped(m, "memfd");
    private_cases(m, "memfd");
    if (argc > 1) {
        char path[256];
        snprintf(path, sizeof path, "%s/mm_filemap.dat", argv[1]);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        ftruncate(fd, 8192);
        shared_between_processes(fd, "file");
        private_cases(fd, "file");
        eof_sigbus(fd, "file");
        shrink_while_mapped(fd, "file");
        futex_across_processes(fd, "file");
        /* Written back on munmap: a fresh descriptor reads it. */
        ftruncate(fd, 4096);
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        strcpy(p + 50, "after-munmap");
        munmap(p, 4096);
        close(fd);
        fd = open(path, O_RDONLY);
        char buf[16] = {0};
        pread(fd, buf, 12, 50);
        printf("file: reopened '%s'\n", buf);
        close(fd);
        unlink(path);
    }
    msync_errors();
    return 0;
}
