/* CLONE_FS (cwd and umask shared with the parent), unshare(CLONE_FS), and
   system time accounted apart from user time (getrusage, times). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <errno.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/syscall.h>

static char stack[65536] __attribute__((aligned(16)));

static int child_chdir(void *arg) {
    chdir("/");
    umask(077);
    return 0;
}

static int child_unshare_then_chdir(void *arg) {
    if (unshare(CLONE_FS) != 0)
        return 1;
    chdir("/");
    umask(077);
    return 0;
}

static int run(int (*fn)(void *), int flags) {
    int st = -1;
    pid_t pid = clone(fn, stack + sizeof stack, flags | SIGCHLD, NULL);
    if (pid < 0)
        return -1;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cwd_is_root(void) {
    char buf[4096];
    return getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0;
}

int main(int argc, char **argv) {
    char orig[4096];
    getcwd(orig, sizeof orig);
    int was_root = strcmp(orig, "/") == 0;

    umask(022);
    int st = run(child_chdir, 0);
    mode_t m = umask(022);
    printf("plain clone: status=%d cwd_changed=%d umask=%03o\n", st,
           !was_root && cwd_is_root(), m);

    st = run(child_chdir, CLONE_FS);
    m = umask(022);
    printf("CLONE_FS: status=%d cwd_changed=%d umask=%03o\n", st, was_root || cwd_is_root(), m);
    chdir(orig);

    st = run(child_unshare_then_chdir, CLONE_FS);
    m = umask(022);
    printf("unshare(CLONE_FS): status=%d cwd_changed=%d umask=%03o\n", st,
           !was_root && cwd_is_root(), m);
    printf("unshare(bogus): ret=%d errno=%d\n", unshare(0x1), errno);

    /* System time: many syscalls, each doing a little work in the kernel. */
    char buf[256];
    int fds[2];
    pipe(fds);
    for (int i = 0; i < 20000; i++) {
        write(fds[1], buf, sizeof buf);
        read(fds[0], buf, sizeof buf);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long sys_us = ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
    printf("rusage: stime>0=%d\n", sys_us > 0);
    struct tms tm;
    times(&tm);
    printf("times: fields>=0=%d\n", tm.tms_utime >= 0 && tm.tms_stime >= 0);
    return 0;
}
