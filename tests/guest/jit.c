/* A JIT's life: write code into an RW mapping, make it executable, call it;
 * rewrite it in place; unmap and map new code at the same address. Each
 * call must run the current bytes (code-cache invalidation). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn_t)(void);

static void emit_return(uint32_t *p, int value) {
    p[0] = 0x52800000u | ((uint32_t)value << 5);   /* mov w0, #value */
    p[1] = 0xd65f03c0u;                             /* ret */
    __builtin___clear_cache((char *)p, (char *)(p + 2));
}

int main(void) {
    uint32_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    emit_return(code, 11);
    mprotect(code, 4096, PROT_READ | PROT_EXEC);
    printf("first=%d\n", ((fn_t)code)());
    mprotect(code, 4096, PROT_READ | PROT_WRITE);
    emit_return(code, 22);
    mprotect(code, 4096, PROT_READ | PROT_EXEC);
    printf("rewritten=%d\n", ((fn_t)code)());
    munmap(code, 4096);
    uint32_t *again = mmap(code, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    emit_return(again, 33);
    printf("remapped=%d same_addr=%d\n", ((fn_t)again)(), again == code);
    uint32_t *rwx = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int sum = 0;
    for (int i = 0; i < 50; i++) { emit_return(rwx, i); sum += ((fn_t)rwx)(); }
    printf("rwx loop sum=%d\n", sum);
    return 0;
}
