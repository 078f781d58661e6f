/* segv        -> write through NULL, dies with SIGSEGV
 * segv read   -> read from address 0x10, dies with SIGSEGV */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    printf("before\n");
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "read") == 0) {
        volatile int *p = (volatile int *)0x10;
        int v = *p;
        printf("after read %d\n", v);
    } else {
        volatile int *p = (volatile int *)0;
        *p = 42;
        printf("after write\n");
    }
    return 0;
}
