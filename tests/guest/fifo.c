/* Named pipes: a blocking reader waits for a writer and a blocking writer
   for a reader; a writer that opens, writes and closes before the reader
   runs again still releases it and its bytes stay; O_NONBLOCK readers open
   at once (read gives 0 with no writer), O_NONBLOCK writers without a
   reader get ENXIO; O_RDWR never waits; fstat is the inode's; a signal
   interrupts a waiting open with EINTR; poll sees the data. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void on_alarm(int sig) { (void)sig; }

static void drain(int fd, const char *who) {
    char buf[64];
    ssize_t n, total = 0;
    printf("%s reads:", who);
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        printf(" '%.*s'", (int)n, buf);
        total += n;
    }
    printf(" then %zd (total %zd)\n", n, total);
}

int main(void) {
    char path[] = "/tmp/fifo_test_XXXXXX";
    int tmp = mkstemp(path);
    close(tmp);
    unlink(path);
    if (mkfifo(path, 0600)) { perror("mkfifo"); return 1; }
    struct stat st;
    stat(path, &st);
    printf("mkfifo: S_ISFIFO=%d mode=%o\n", S_ISFIFO(st.st_mode), st.st_mode & 0777);
    fflush(stdout);

    /* 1: the reader first (it waits); the writer comes later. */
    pid_t pid = fork();
    if (pid == 0) {
        nap(100);
        int w = open(path, O_WRONLY);
        write(w, "hello", 5);
        nap(50);
        write(w, " world", 6);
        close(w);
        _exit(0);
    }
    int r = open(path, O_RDONLY);
    struct stat fst;
    fstat(r, &fst);
    printf("reader open: ok=%d same inode=%d fifo=%d\n", r >= 0, fst.st_ino == st.st_ino,
           S_ISFIFO(fst.st_mode));
    drain(r, "reader");
    close(r);
    waitpid(pid, NULL, 0);
    fflush(stdout);

    /* 2: the writer first (it waits); it writes and closes before the
       reader has run again. */
    pid = fork();
    if (pid == 0) {
        int w = open(path, O_WRONLY);
        write(w, "early", 5);
        close(w);
        _exit(0);
    }
    nap(100);
    r = open(path, O_RDONLY);
    waitpid(pid, NULL, 0);       /* the writer is gone before we read */
    drain(r, "late reader");
    close(r);

    /* 3: O_NONBLOCK. */
    r = open(path, O_RDONLY | O_NONBLOCK);
    char c;
    ssize_t n = read(r, &c, 1);
    printf("nonblocking reader: ok=%d read=%zd\n", r >= 0, n);
    int w = open(path, O_WRONLY | O_NONBLOCK);
    printf("nonblocking writer with a reader: ok=%d\n", w >= 0);
    write(w, "xy", 2);
    struct pollfd pf = {r, POLLIN, 0};
    int pr = poll(&pf, 1, 1000);
    printf("poll: %d revents=%#x\n", pr, pf.revents);
    n = read(r, &c, 1);
    printf("read after write: %zd '%c'\n", n, c);
    close(w);
    close(r);
    errno = 0;
    w = open(path, O_WRONLY | O_NONBLOCK);
    printf("nonblocking writer, no reader: ret=%d errno=%s\n", w,
           errno == ENXIO ? "ENXIO" : strerror(errno));

    /* 4: O_RDWR never waits; both ends in one file. */
    int rw = open(path, O_RDWR);
    write(rw, "rw", 2);
    char buf[4] = {0};
    n = read(rw, buf, sizeof buf);
    printf("O_RDWR: ok=%d read=%zd '%s'\n", rw >= 0, n, buf);
    close(rw);

    /* 5: a signal ends a waiting open with EINTR. */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    errno = 0;
    r = open(path, O_RDONLY);
    printf("interrupted open: ret=%d errno=%s\n", r, errno == EINTR ? "EINTR" : strerror(errno));

    /* 6: after all that, a plain pair still works. */
    pid = fork();
    if (pid == 0) {
        int w2 = open(path, O_WRONLY);
        write(w2, "again", 5);
        _exit(0);
    }
    r = open(path, O_RDONLY);
    drain(r, "final reader");
    waitpid(pid, NULL, 0);
    unlink(path);
    return 0;
}
