/* Blocking pipe writes larger than the pipe take every byte (the reader
   drains in small reads), and a signal that arrives after part of a write
   ends it with the count written so far, with or without SA_RESTART. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (1 << 20)

static void on_alarm(int sig) { (void)sig; }

static long drain(int fd) {
    char buf[1000];
    long total = 0, sum = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            sum += (unsigned char)buf[i];
        total += n;
    }
    return total * 1000 + sum % 1000;
}

static void interrupted(int restart) {
    int p[2];
    pipe(p);
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    char *data = calloc(1, BIG);
    alarm(1);
    ssize_t n = write(p[1], data, BIG);      /* nobody reads: 64 KiB fit */
    printf("interrupted write (%s): ret=%zd errno=%d\n", restart ? "SA_RESTART" : "no restart",
           n, n < 0 ? errno : 0);
    close(p[0]);
    close(p[1]);
    free(data);
}

int main(void) {
    int p[2];
    pipe(p);
    char *data = malloc(BIG);
    for (int i = 0; i < BIG; i++)
        data[i] = (char)(i * 7);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        long r = drain(p[0]);
        printf("reader: bytes=%ld checksum=%ld\n", r / 1000, r % 1000);
        return 0;
    }
    close(p[0]);
    ssize_t n = write(p[1], data, BIG);
    struct iovec iov[3] = {{data, 100000}, {data + 100000, 300000}, {data, 5}};
    ssize_t m = writev(p[1], iov, 3);
    close(p[1]);
    int st;
    waitpid(pid, &st, 0);
    printf("write: ret=%zd writev: ret=%zd\n", n, m);
    interrupted(0);
    interrupted(1);
    return 0;
}
