/* Code run from a file mapping and then rewritten with pwrite(2) — on a
   memfd and on a /tmp file mapped shared — runs the new instructions:
   the kernel's write reaches the page the CPU executes from, and no stale
   translation survives it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* mov w0, #imm; ret */
static void code(uint32_t out[2], unsigned imm) {
    out[0] = 0x52800000u | (imm << 5);
    out[1] = 0xd65f03c0u;
}

static void run(const char *what, int fd) {
    uint32_t insn[2];
    code(insn, 42);
    if (pwrite(fd, insn, sizeof insn, 0) != sizeof insn || ftruncate(fd, 4096)) {
        perror("write");
        exit(1);
    }
    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    int (*f)(void) = (int (*)(void))p;
    int first = f();
    int again = 0;
    for (int i = 0; i < 1000; i++)
        again += f();                       /* hot: translated and cached */
    code(insn, 7);
    pwrite(fd, insn, sizeof insn, 0);
    __builtin___clear_cache((char *)p, (char *)p + 8);
    int second = f();
    printf("%s: %d %d then %d\n", what, first, again / 1000, second);
    munmap(p, 4096);
    close(fd);
}

int main(void) {
    run("memfd", memfd_create("code", 0));
    char path[] = "/tmp/code_rewrite_XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    run("tmp file", fd);
    return 0;
}
