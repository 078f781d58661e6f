/* sendfile from a file into a pipe that fills: every byte arrives in order
   (busybox cat uses sendfile; a full pipe once lost the rest of the file). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (1 << 20)

int main(int argc, char **argv) {
    char path[256];
    snprintf(path, sizeof path, "%s/sendfile.dat", argc > 1 ? argv[1] : "/tmp");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unsigned char *buf = malloc(SIZE);
    for (int i = 0; i < SIZE; i++)
        buf[i] = (unsigned char)(i * 131 + (i >> 12));
    write(fd, buf, SIZE);
    lseek(fd, 0, SEEK_SET);
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        close(p[1]);
        usleep(50000);                  /* let the pipe fill first */
        unsigned char rb[4096];
        long got = 0, bad = 0;
        ssize_t n;
        while ((n = read(p[0], rb, sizeof rb)) > 0) {
            for (ssize_t i = 0; i < n; i++)
                if (rb[i] != (unsigned char)((got + i) * 131 + ((got + i) >> 12)))
                    bad++;
            got += n;
        }
        printf("reader: bytes=%ld mismatched=%ld\n", got, bad);
        _exit(0);
    }
    close(p[0]);
    long sent = 0, calls = 0;
    ssize_t n;
    while ((n = sendfile(p[1], fd, NULL, 16 << 20)) > 0) {
        sent += n;
        calls++;
    }
    close(p[1]);
    waitpid(c, NULL, 0);
    printf("sender: sent=%ld last=%zd position=%ld\n", sent, n, (long)lseek(fd, 0, SEEK_CUR));
    unlink(path);
    return 0;
}
