/* Jumps to, reads or writes an address above the 48-bit user space (argv[1]) — including unicorn's `until` probe page: each must be a SIGSEGV, never a hang. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int c, char **v) {
    unsigned long a = strtoul(v[1], 0, 0);
    printf("try %s %lx\n", v[2], a); fflush(stdout);
    if (!strcmp(v[2], "jump")) ((void (*)(void))a)();
    else if (!strcmp(v[2], "read")) printf("%d\n", *(volatile int *)a);
    else *(volatile int *)a = 1;
    return 0;
}
