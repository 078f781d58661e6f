/* Syscall round-trip benchmark: getppid N times (default 1,000,000). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    printf("done %ld\n", n);
    return 0;
}
