/* FIONREAD on a pipe, F_GETPIPE_SZ and F_SETPIPE_SZ (rounded up to a power of two pages). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>
int main(void) {
    int p[2]; pipe(p);
    write(p[1], "hello", 5);
    int n = -1; ioctl(p[0], FIONREAD, &n);
    printf("fionread=%d size=%d\n", n, fcntl(p[1], F_GETPIPE_SZ));
    printf("set=%d now=%d\n", fcntl(p[1], F_SETPIPE_SZ, 100000), fcntl(p[0], F_GETPIPE_SZ));
    printf("too small for data: %d\n", fcntl(p[1], F_SETPIPE_SZ, 1) >= 5);
    return 0;
}
