/* getrandom(2) via raw syscall: normal, GRND_NONBLOCK, and EFAULT on a bad pointer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef GRND_NONBLOCK
#define GRND_NONBLOCK 1
#endif

int main(void) {
    unsigned char a[32], b[32];
    long r = syscall(SYS_getrandom, a, sizeof a, 0);
    if (r != 32) {
        printf("getrandom returned %ld errno=%d\n", r, errno);
        return 1;
    }
    printf("ok %ld\n", r);
    r = syscall(SYS_getrandom, b, sizeof b, 0);
    if (r != 32) {
        printf("second getrandom returned %ld errno=%d\n", r, errno);
        return 1;
    }
    if (memcmp(a, b, sizeof a) == 0) {
        printf("two calls returned identical data\n");
        return 1;
    }
    printf("differ ok\n");
    r = syscall(SYS_getrandom, b, 16, GRND_NONBLOCK);
    if (r != 16) {
        printf("nonblock getrandom returned %ld errno=%d\n", r, errno);
        return 1;
    }
    printf("nonblock ok %ld\n", r);
    errno = 0;
    r = syscall(SYS_getrandom, (void *)1, 32, 0);
    if (r != -1 || errno != EFAULT) {
        printf("bad pointer: r=%ld errno=%d\n", r, errno);
        return 1;
    }
    printf("efault ok\n");
    return 0;
}
