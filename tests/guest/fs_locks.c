/* Advisory locks and renameat2's flags:
 *   fs_locks DIR           flock, fcntl record locks (POSIX and OFD), renameat2
 *   fs_locks DIR chroot    chroot into DIR/sub (as root)
 * Processes synchronise through pipes and short sleeps; every line is
 * printed in an order fixed by those. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char line[512];
#define P(...) do { snprintf(line, sizeof line, __VA_ARGS__); write(1, line, strlen(line)); } while (0)
#define R(label, expr) do { errno = 0; long r_ = (long)(expr); \
    if (r_ < 0) P("%s: %ld %s\n", label, r_, ename(errno)); else P("%s: %ld\n", label, r_); } while (0)

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case EBADF: return "EBADF";
    case EACCES: return "EACCES"; case EFAULT: return "EFAULT"; case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV"; case ENOTDIR: return "ENOTDIR"; case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL"; case EAGAIN: return "EAGAIN"; case EDEADLK: return "EDEADLK";
    case EOVERFLOW: return "EOVERFLOW"; case ENOTEMPTY: return "ENOTEMPTY"; case EBUSY: return "EBUSY";
    case ENOSYS: return "ENOSYS"; case EINTR: return "EINTR";
    default: { static char b[32]; snprintf(b, sizeof b, "E%d", e); return b; }
    }
}

#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#endif
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void put(const char *name, const char *data) {
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, data, strlen(data));
    close(fd);
}

static void show(const char *label, const char *p) {
    char buf[64];
    int fd = open(p, O_RDONLY);
    long n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0) close(fd);
    if (n < 0) { P("%s: (%s)\n", label, ename(errno)); return; }
    buf[n] = 0;
    P("%s: [%s]\n", label, buf);
}

static int lk(int fd, int cmd, short type, short whence, off_t start, off_t len) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = whence;
    fl.l_start = start;
    fl.l_len = len;
    return fcntl(fd, cmd, &fl);
}

static const char *tname(int t) {
    return t == F_RDLCK ? "RD" : t == F_WRLCK ? "WR" : t == F_UNLCK ? "UN" : "??";
}

/* F_GETLK from a fresh process (it owns no locks). */
static void probe(const char *label, short type, off_t start, off_t len) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("lk", O_RDWR);
        struct flock fl;
        memset(&fl, 0, sizeof fl);
        fl.l_type = type;
        fl.l_whence = SEEK_SET;
        fl.l_start = start;
        fl.l_len = len;
        int r = fcntl(fd, F_GETLK, &fl);
        if (r < 0)
            P("%s: %s\n", label, ename(errno));
        else if (fl.l_type == F_UNLCK)
            P("%s: UN\n", label);
        else
            P("%s: %s start=%ld len=%ld parent=%d\n", label, tname(fl.l_type), (long)fl.l_start,
              (long)fl.l_len, fl.l_pid == parent);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void flocks(void) {
    put("lk", "0123456789");
    int a = open("lk", O_RDWR), b = open("lk", O_RDWR);
    R("flock ex", flock(a, LOCK_EX));
    R("flock ex again", flock(a, LOCK_EX));
    R("flock other ofd ex nb", flock(b, LOCK_EX | LOCK_NB));
    R("flock other ofd sh nb", flock(b, LOCK_SH | LOCK_NB));
    R("flock convert to sh", flock(a, LOCK_SH));
    R("flock other ofd sh nb", flock(b, LOCK_SH | LOCK_NB));
    R("flock other ofd ex nb", flock(b, LOCK_EX | LOCK_NB));
    R("flock unlock", flock(a, LOCK_UN));
    R("flock other ofd upgrade", flock(b, LOCK_EX | LOCK_NB));
    int c = dup(b);
    R("flock dup shares", flock(c, LOCK_EX | LOCK_NB));
    close(b);
    R("flock still held", flock(a, LOCK_SH | LOCK_NB));
    close(c);
    R("flock released on close", flock(a, LOCK_EX | LOCK_NB));
    R("flock bad op", flock(a, 0));
    R("flock both", flock(a, LOCK_SH | LOCK_EX));
    R("flock op 16", flock(a, 16));
    R("flock badfd", flock(99, LOCK_SH));
    R("flock badfd bad op", flock(99, 0));
    R("flock mand", flock(a, 32));
    int p = open("lk", O_PATH);
    R("flock O_PATH", flock(p, LOCK_SH));
    close(p);
    int ro = open("lk", O_RDONLY);
    R("flock rdonly fd ex", flock(ro, LOCK_UN));
    close(ro);
    /* fork shares the open file description */
    pid_t pid = fork();
    if (pid == 0) {
        R("child unlocks shared", flock(a, LOCK_UN));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    b = open("lk", O_RDWR);
    R("flock after child unlock", flock(b, LOCK_EX | LOCK_NB));
    /* blocking flock: wakes at the unlock */
    int pfd[2];
    pipe(pfd);
    pid = fork();
    if (pid == 0) {
        int d = open("lk", O_RDWR);
        write(pfd[1], "x", 1);
        int r = flock(d, LOCK_EX);
        P("child: blocking flock=%d\n", r);
        _exit(0);
    }
    char ch;
    read(pfd[0], &ch, 1);
    msleep(150);
    P("parent: unlocking\n");
    flock(b, LOCK_UN);
    waitpid(pid, NULL, 0);
    /* a holder that exits releases its lock */
    pid = fork();
    if (pid == 0) {
        int d = open("lk", O_RDWR);
        flock(d, LOCK_EX);
        write(pfd[1], "x", 1);
        msleep(150);
        P("child: exiting with the lock\n");
        _exit(0);
    }
    read(pfd[0], &ch, 1);
    R("flock held by child", flock(b, LOCK_EX | LOCK_NB));
    R("flock waits for exit", flock(b, LOCK_EX));
    waitpid(pid, NULL, 0);
    flock(b, LOCK_UN);
    close(pfd[0]); close(pfd[1]);
    close(a); close(b);
}

static void records(void) {
    struct flock fl;
    int fd = open("lk", O_RDWR);
    R("setlk wr 0-9", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK; fl.l_start = 0; fl.l_len = 5; fl.l_pid = 77;
    R("getlk own", fcntl(fd, F_GETLK, &fl));
    P("getlk own: type=%s start=%ld len=%ld pid=%d\n", tname(fl.l_type), (long)fl.l_start,
      (long)fl.l_len, fl.l_pid);
    probe("probe wr 5", F_WRLCK, 5, 1);
    probe("probe rd 5", F_RDLCK, 5, 1);
    probe("probe wr 10-", F_WRLCK, 10, 0);
    R("unlock 3-6", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 3, 4));
    probe("probe 3-6", F_WRLCK, 3, 4);
    probe("probe all", F_WRLCK, 0, 0);
    probe("probe 5-", F_WRLCK, 5, 0);
    R("rdlock over 0-4", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 5));
    probe("probe rd 0", F_RDLCK, 0, 1);
    probe("probe wr 0", F_WRLCK, 0, 1);
    R("unlock all", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
    probe("probe after unlock", F_WRLCK, 0, 0);
    /* whence and negative lengths */
    lseek(fd, 50, SEEK_SET);
    R("setlk seek_cur", lk(fd, F_SETLK, F_WRLCK, SEEK_CUR, 0, 5));
    probe("probe 50", F_WRLCK, 40, 100);
    R("setlk neg len", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 30, -5));
    probe("probe 20-30", F_WRLCK, 20, 10);
    R("setlk seek_end", lk(fd, F_SETLK, F_RDLCK, SEEK_END, 2, 3));
    probe("probe 11-", F_WRLCK, 11, 10);
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
    /* errors */
    R("setlk bad type", lk(fd, F_SETLK, 5, SEEK_SET, 0, 1));
    R("setlk bad whence", lk(fd, F_SETLK, F_WRLCK, 7, 0, 1));
    R("setlk neg start", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1));
    R("setlk neg len before 0", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 2, -5));
    R("setlk overflow", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0x7fffffffffffffffll, 2));
    R("getlk unlck", lk(fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1));
    R("setlk badfd", lk(99, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    R("setlk efault", fcntl(fd, F_SETLK, (void *)8));
    int ro = open("lk", O_RDONLY), wo = open("lk", O_WRONLY);
    R("setlk wr on rdonly", lk(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    R("setlk rd on wronly", lk(wo, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
    R("setlk unlck on rdonly", lk(ro, F_SETLK, F_UNLCK, SEEK_SET, 0, 1));
    R("getlk wr on rdonly", lk(ro, F_GETLK, F_WRLCK, SEEK_SET, 0, 1));
    int op = open("lk", O_PATH);
    R("setlk O_PATH", lk(op, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
    close(op);
    /* closing ANY descriptor of the file drops the process's POSIX locks */
    R("setlk via fd", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    probe("probe before close", F_WRLCK, 0, 1);
    close(ro);
    probe("probe after closing another fd", F_WRLCK, 0, 1);
    /* OFD locks */
    int a = open("lk", O_RDWR), b = open("lk", O_RDWR);
    R("ofd setlk a", lk(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    R("ofd setlk b conflicts", lk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1));
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK; fl.l_start = 5; fl.l_len = 1;
    R("ofd getlk b", fcntl(b, F_OFD_GETLK, &fl));
    P("ofd getlk: type=%s start=%ld len=%ld pid=%d\n", tname(fl.l_type), (long)fl.l_start,
      (long)fl.l_len, fl.l_pid);
    R("posix setlk vs ofd", lk(b, F_SETLK, F_RDLCK, SEEK_SET, 5, 1));
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK; fl.l_len = 1; fl.l_pid = 5;
    R("ofd setlk pid!=0", fcntl(b, F_OFD_SETLK, &fl));
    R("ofd getlk pid!=0", fcntl(b, F_OFD_GETLK, &fl));
    probe("probe ofd", F_RDLCK, 0, 1);
    close(a);
    R("ofd released on close", lk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1));
    close(b);
    close(wo);
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
    /* F_SETLKW waits for the unlock */
    int pfd[2];
    pipe(pfd);
    R("setlk for waiter", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    pid_t pid = fork();
    if (pid == 0) {
        int d = open("lk", O_RDWR);
        write(pfd[1], "x", 1);
        int r = lk(d, F_SETLKW, F_WRLCK, SEEK_SET, 5, 1);
        P("child: setlkw=%d\n", r);
        _exit(0);
    }
    char ch;
    read(pfd[0], &ch, 1);
    msleep(150);
    P("parent: unlocking 0-9\n");
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 10);
    waitpid(pid, NULL, 0);
    /* deadlock detection */
    R("lock 0", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    pid = fork();
    if (pid == 0) {
        int d = open("lk", O_RDWR);
        lk(d, F_SETLK, F_WRLCK, SEEK_SET, 1, 1);
        write(pfd[1], "x", 1);
        int r = lk(d, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
        P("child: got 0 after the deadlock=%d\n", r);
        _exit(0);
    }
    read(pfd[0], &ch, 1);
    msleep(200);
    R("setlkw deadlock", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1));
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1);
    waitpid(pid, NULL, 0);
    /* a POSIX lock holder's exit releases it; OFD SETLKW waits for that */
    pid = fork();
    if (pid == 0) {
        int d = open("lk", O_RDWR);
        lk(d, F_SETLK, F_WRLCK, SEEK_SET, 0, 0);
        write(pfd[1], "x", 1);
        msleep(150);
        P("child: exiting with record lock\n");
        _exit(0);
    }
    read(pfd[0], &ch, 1);
    int e = open("lk", O_RDWR);
    R("ofd setlk vs child", lk(e, F_OFD_SETLK, F_WRLCK, SEEK_SET, 3, 1));
    R("ofd setlkw waits for exit", lk(e, F_OFD_SETLKW, F_WRLCK, SEEK_SET, 3, 1));
    waitpid(pid, NULL, 0);
    close(e);
    close(pfd[0]); close(pfd[1]);
    close(fd);
    unlink("lk");
}

static void renames(void) {
    put("r1", "one");
    put("r2", "two");
    R("noreplace exists", syscall(SYS_renameat2, AT_FDCWD, "r1", AT_FDCWD, "r2", RENAME_NOREPLACE));
    R("noreplace new", syscall(SYS_renameat2, AT_FDCWD, "r1", AT_FDCWD, "r3", RENAME_NOREPLACE));
    show("r3", "r3");
    R("noreplace missing src", syscall(SYS_renameat2, AT_FDCWD, "r1", AT_FDCWD, "r2", RENAME_NOREPLACE));
    R("exchange", syscall(SYS_renameat2, AT_FDCWD, "r2", AT_FDCWD, "r3", RENAME_EXCHANGE));
    show("r2", "r2");
    show("r3", "r3");
    R("exchange missing", syscall(SYS_renameat2, AT_FDCWD, "r2", AT_FDCWD, "r9", RENAME_EXCHANGE));
    R("exchange missing src", syscall(SYS_renameat2, AT_FDCWD, "r9", AT_FDCWD, "r2", RENAME_EXCHANGE));
    mkdir("rd", 0755);
    put("rd/inner", "in");
    R("exchange file and dir", syscall(SYS_renameat2, AT_FDCWD, "r2", AT_FDCWD, "rd", RENAME_EXCHANGE));
    struct stat st;
    stat("r2", &st);
    P("r2 is dir: %d\n", S_ISDIR(st.st_mode));
    show("r2/inner", "r2/inner");
    show("rd", "rd");
    R("exchange same", syscall(SYS_renameat2, AT_FDCWD, "rd", AT_FDCWD, "rd", RENAME_EXCHANGE));
    mkdir("r2/sub", 0755);
    R("exchange with own child", syscall(SYS_renameat2, AT_FDCWD, "r2", AT_FDCWD, "r2/sub", RENAME_EXCHANGE));
    R("exchange with own parent", syscall(SYS_renameat2, AT_FDCWD, "r2/sub", AT_FDCWD, "r2", RENAME_EXCHANGE));
    R("noreplace|exchange", syscall(SYS_renameat2, AT_FDCWD, "r3", AT_FDCWD, "rd", 3));
    R("unknown flag", syscall(SYS_renameat2, AT_FDCWD, "r3", AT_FDCWD, "rd", 8));
    R("flags 0", syscall(SYS_renameat2, AT_FDCWD, "r3", AT_FDCWD, "r4", 0));
    show("r4", "r4");
    R("exchange dot", syscall(SYS_renameat2, AT_FDCWD, ".", AT_FDCWD, "r4", RENAME_EXCHANGE));
    int dfd = open("r2", O_RDONLY | O_DIRECTORY);
    R("exchange dirfds", syscall(SYS_renameat2, dfd, "inner", AT_FDCWD, "r4", RENAME_EXCHANGE));
    show("r4", "r4");
    show("r2/inner", "r2/inner");
    close(dfd);
    unlink("r4"); unlink("rd"); unlink("r2/inner"); rmdir("r2/sub"); rmdir("r2");
}

static int chroot_mode(void) {
    mkdir("sub", 0755);
    put("sub/inner", "inside");
    put("outer", "outside");
    pid_t pid = fork();
    if (pid == 0) {
        R("chroot missing", chroot("nope"));
        R("chroot file", chroot("outer"));
        R("chroot", chroot("sub"));
        R("chdir /", chdir("/"));
        char cwd[256];
        P("cwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
        show("/inner", "/inner");
        show("/../inner", "/../inner");
        show("/outer", "/outer");
        R("chdir ..", chdir(".."));
        show("inner", "inner");
        mkdir("/d", 0755);
        R("nested chroot", chroot("/d"));
        chdir("/");
        R("access /inner", access("/inner", F_OK));
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    P("child status: %d\n", WEXITSTATUS(status));
    show("sub/inner", "sub/inner");
    unlink("sub/inner"); rmdir("sub/d"); rmdir("sub"); unlink("outer");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        P("usage: fs_locks DIR [chroot]\n");
        return 2;
    }
    if (chdir(argv[1]) < 0) {
        P("chdir failed\n");
        return 1;
    }
    if (argc > 2 && strcmp(argv[2], "chroot") == 0)
        return chroot_mode();
    flocks();
    records();
    renames();
    P("done\n");
    return 0;
}
