/* Extended attributes, nice values and fadvise64, with their error paths:
 *   xattr_prio DIR      all checks, in a fresh directory under DIR (removed again)
 *   xattr_prio nice     nice(5), then /proc/self/stat and an execve of itself:
 *                       the nice value survives fork and exec; RLIMIT_NICE
 *                       (Linux's answers are written out in the test:
 *                       qemu-user cannot exec, and it fakes /proc/self/stat)
 * Lines are "label: result" or "label: -1 ENAME".
 *
 * Only answers that are the same on every Linux filesystem are printed:
 * Akuma's filesystems store no extended attribute, while the host's tmpfs or
 * ext4 stores user.* ones, so a successful set is printed as "stored or
 * EOPNOTSUPP" (the raw answer goes to stderr) and is done on a file that
 * nothing else looks at.  Lists print the names outside security.* only (an
 * LSM may label every file).  No POSIX ACL name is used (tmpfs supports ACLs,
 * Akuma does not), and nothing depends on the order in which two wrong
 * arguments are checked (Linux 6.13 moved the name checks before the lookup).
 *
 * qemu-user keeps helper threads next to the guest's, and Linux keeps nice
 * per thread: a PRIO_PGRP or PRIO_USER query sees them.  They are left at
 * the group's value by setting that with PRIO_PGRP before such queries, and
 * PRIO_PROCESS changes are only made where no query of the group follows. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

extern char **environ;

static char line[768];
#define P(...) do { snprintf(line, sizeof line, __VA_ARGS__); write(1, line, strlen(line)); } while (0)
#define R(label, expr) do { errno = 0; long r_ = (long)(expr); \
    if (r_ < 0) P("%s: %ld %s\n", label, r_, ename(errno)); else P("%s: %ld\n", label, r_); } while (0)
/* A nice value (may be negative): "label: N errno". */
#define N(label, expr) do { errno = 0; int n_ = (expr); P("%s: %d %s\n", label, n_, ename(errno)); } while (0)

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case ESRCH: return "ESRCH";
    case EBADF: return "EBADF"; case EACCES: return "EACCES"; case EFAULT: return "EFAULT";
    case ENOTDIR: return "ENOTDIR"; case EINVAL: return "EINVAL"; case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS"; case E2BIG: return "E2BIG"; case ERANGE: return "ERANGE";
    case ELOOP: return "ELOOP"; case ENODATA: return "ENODATA"; case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENAMETOOLONG: return "ENAMETOOLONG"; case ENOSYS: return "ENOSYS";
    default: { static char b[32]; snprintf(b, sizeof b, "E%d", e); return b; }
    }
}

#define BAD ((void *)1)          /* an address no program maps */

static char big[70000];
static char name255[256], name256[257];

static void put(const char *name, mode_t mode) {
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, mode);
    write(fd, "data\n", 5);
    fchmod(fd, mode);
    close(fd);
}

/* A set that Linux's filesystems may honour and Akuma's refuse. */
static void set_any(const char *label, long r) {
    int e = errno;
    if (r == 0 || (r < 0 && e == EOPNOTSUPP))
        P("%s: stored or EOPNOTSUPP\n", label);
    else
        P("%s: %ld %s\n", label, r, ename(e));
    fprintf(stderr, "raw %s: %ld %s\n", label, r, r < 0 ? ename(e) : "OK");
}

/* A list: the names outside security.* (LSM labels differ between hosts). */
static void show_list(const char *label, long r, const char *buf) {
    if (r < 0) {
        P("%s: %ld %s\n", label, r, ename(errno));
        return;
    }
    char names[512] = "";
    int n = 0;
    for (long i = 0; i < r; i += strlen(buf + i) + 1) {
        if (strncmp(buf + i, "security.", 9) == 0)
            continue;
        n++;
        strncat(names, " ", sizeof names - strlen(names) - 1);
        strncat(names, buf + i, sizeof names - strlen(names) - 1);
    }
    P("%s: ok names=%d%s\n", label, n, names);
}

/* -- extended attributes ---------------------------------------------------------- */

static void xattr_root(void) {
    char v[64], lst[1024];
    put("f", 0644);
    put("s", 0644);                       /* the file sets may store on */
    put("secret", 0600);
    mkdir("d", 0755);
    mkdir("priv", 0700);
    put("priv/f", 0644);
    mkdir("sticky", 0777);
    chmod("sticky", 01777);
    symlink("f", "l");
    symlink("nope", "dl");
    symlink("loop", "loop");

    /* get */
    R("get user.x", getxattr("f", "user.x", v, sizeof v));
    R("get user.x size 0", getxattr("f", "user.x", NULL, 0));
    R("get trusted.x", getxattr("f", "trusted.x", v, sizeof v));
    R("get security.foo", getxattr("f", "security.foo", v, sizeof v));
    R("get foo.bar", getxattr("f", "foo.bar", v, sizeof v));
    R("get nodot", getxattr("f", "user", v, sizeof v));
    R("get user.", getxattr("f", "user.", v, sizeof v));
    R("get trusted.", getxattr("f", "trusted.", v, sizeof v));
    R("get system.foo", getxattr("f", "system.foo", v, sizeof v));
    R("get empty name", getxattr("f", "", v, sizeof v));
    R("get name 255", getxattr("f", name255, v, sizeof v));
    R("get name 256", getxattr("f", name256, v, sizeof v));
    R("get name NULL", getxattr("f", NULL, v, sizeof v));
    R("get name bad", getxattr("f", BAD, v, sizeof v));
    R("get path NULL", getxattr(NULL, "user.x", v, sizeof v));
    R("get missing", getxattr("nope", "user.x", v, sizeof v));
    R("get empty path", getxattr("", "user.x", v, sizeof v));
    R("get notdir", getxattr("f/x", "user.x", v, sizeof v));
    R("get loop", getxattr("loop", "user.x", v, sizeof v));
    R("get dir", getxattr("d", "user.x", v, sizeof v));
    R("get symlink followed", getxattr("l", "user.x", v, sizeof v));
    R("get dangling", getxattr("dl", "user.x", v, sizeof v));
    R("lget dangling", lgetxattr("dl", "user.x", v, sizeof v));
    R("lget symlink user", lgetxattr("l", "user.x", v, sizeof v));
    R("lget symlink foo.bar", lgetxattr("l", "foo.bar", v, sizeof v));
    R("lget symlink user.", lgetxattr("l", "user.", v, sizeof v));
    R("lget loop", lgetxattr("loop", "user.x", v, sizeof v));
    R("get chr user", getxattr("/dev/null", "user.x", v, sizeof v));
    R("get chr foo.bar", getxattr("/dev/null", "foo.bar", v, sizeof v));

    /* set */
    errno = 0; set_any("set user.x", setxattr("s", "user.x", "v", 1, 0));
    errno = 0; set_any("set user.x empty value", setxattr("s", "user.y", NULL, 0, XATTR_CREATE));
    R("set foo.bar", setxattr("f", "foo.bar", "v", 1, 0));
    R("set user.", setxattr("f", "user.", "v", 1, 0));
    R("set system.foo", setxattr("f", "system.foo", "v", 1, 0));
    R("set bad flags", setxattr("f", "user.x", "v", 1, 4));
    R("set bad flags -1", setxattr("f", "user.x", "v", 1, -1));
    R("set empty name", setxattr("f", "", "v", 1, 0));
    R("set name 256", setxattr("f", name256, "v", 1, 0));
    R("set name bad", setxattr("f", BAD, "v", 1, 0));
    R("set too big", setxattr("f", "user.x", big, 65537, 0));
    R("set value bad", setxattr("f", "user.x", BAD, 1, 0));
    R("set value NULL", setxattr("f", "user.x", NULL, 4, 0));
    R("set missing", setxattr("nope", "user.x", "v", 1, 0));
    R("set notdir", setxattr("f/x", "user.x", "v", 1, 0));
    R("set loop", setxattr("loop", "user.x", "v", 1, 0));
    R("set dangling", setxattr("dl", "user.x", "v", 1, 0));
    R("lset symlink user", lsetxattr("l", "user.x", "v", 1, 0));
    R("lset dangling user", lsetxattr("dl", "user.x", "v", 1, 0));
    R("lset symlink foo.bar", lsetxattr("l", "foo.bar", "v", 1, 0));
    R("set chr user", setxattr("/dev/null", "user.x", "v", 1, 0));

    /* list */
    R("list f size 0", listxattr("f", NULL, 0) >= 0 ? 0 : -1);
    show_list("list f", listxattr("f", lst, sizeof lst), lst);
    show_list("list d", listxattr("d", lst, sizeof lst), lst);
    show_list("list symlink followed", listxattr("l", lst, sizeof lst), lst);
    show_list("llist dangling", llistxattr("dl", lst, sizeof lst), lst);
    R("list dangling", listxattr("dl", lst, sizeof lst));
    R("list missing", listxattr("nope", lst, sizeof lst));
    R("list notdir", listxattr("f/x", lst, sizeof lst));
    R("list loop", listxattr("loop", lst, sizeof lst));
    R("list path NULL", listxattr(NULL, lst, sizeof lst));

    /* remove */
    R("remove user.x", removexattr("f", "user.x"));
    R("remove trusted.x", removexattr("f", "trusted.x"));
    R("remove security.foo", removexattr("f", "security.foo"));
    R("remove foo.bar", removexattr("f", "foo.bar"));
    R("remove user.", removexattr("f", "user."));
    R("remove system.foo", removexattr("f", "system.foo"));
    R("remove empty name", removexattr("f", ""));
    R("remove name 256", removexattr("f", name256));
    R("remove name NULL", removexattr("f", NULL));
    R("remove missing", removexattr("nope", "user.x"));
    R("remove dangling", removexattr("dl", "user.x"));
    R("lremove symlink user", lremovexattr("l", "user.x"));
    R("lremove symlink foo.bar", lremovexattr("l", "foo.bar"));
    R("remove chr user", removexattr("/dev/null", "user.x"));
    errno = 0; long rr = removexattr("s", "user.x");
    if (rr == 0 || errno == ENODATA)            /* removed (Linux) or never stored */
        P("remove after set: removed or ENODATA\n");
    else
        P("remove after set: %ld %s\n", rr, ename(errno));

    /* descriptors */
    int fd = open("f", O_RDONLY);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    int opath = open("f", O_PATH);
    int p[2], sv[2];
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    R("fget user.x", fgetxattr(fd, "user.x", v, sizeof v));
    R("fget foo.bar", fgetxattr(fd, "foo.bar", v, sizeof v));
    R("fget dir user.x", fgetxattr(dfd, "user.x", v, sizeof v));
    R("fget empty name", fgetxattr(fd, "", v, sizeof v));
    R("fget bad fd", fgetxattr(99, "user.x", v, sizeof v));
    R("fget fd -1", fgetxattr(-1, "user.x", v, sizeof v));
    R("fget O_PATH", fgetxattr(opath, "user.x", v, sizeof v));
    R("fget pipe user", fgetxattr(p[0], "user.x", v, sizeof v));
    R("fget pipe trusted", fgetxattr(p[0], "trusted.x", v, sizeof v));
    R("fget socket user", fgetxattr(sv[0], "user.x", v, sizeof v));
    R("fset read-only fd foo.bar", fsetxattr(fd, "foo.bar", "v", 1, 0));
    R("fset bad flags", fsetxattr(fd, "user.x", "v", 1, 8));
    R("fset bad fd", fsetxattr(99, "user.x", "v", 1, 0));
    R("fset O_PATH", fsetxattr(opath, "user.x", "v", 1, 0));
    R("fset pipe user", fsetxattr(p[1], "user.x", "v", 1, 0));
    R("fset pipe trusted", fsetxattr(p[1], "trusted.x", "v", 1, 0));
    R("fset socket user", fsetxattr(sv[0], "user.x", "v", 1, 0));
    show_list("flist f", flistxattr(fd, lst, sizeof lst), lst);
    R("flist bad fd", flistxattr(99, lst, sizeof lst));
    R("flist O_PATH", flistxattr(opath, lst, sizeof lst));
    show_list("flist pipe", flistxattr(p[0], lst, sizeof lst), lst);
    R("fremove user.x", fremovexattr(fd, "user.x"));
    R("fremove foo.bar", fremovexattr(fd, "foo.bar"));
    R("fremove bad fd", fremovexattr(99, "user.x"));
    R("fremove O_PATH", fremovexattr(opath, "user.x"));
    R("fremove pipe user", fremovexattr(p[0], "user.x"));
    close(fd); close(dfd); close(opath);
    close(p[0]); close(p[1]); close(sv[0]); close(sv[1]);
}

/* A uid-1000 child: search and read/write permission, trusted.*, sticky dirs. */
static void xattr_nonroot(void) {
    pid_t c = fork();
    if (c == 0) {
        char v[64], lst[256];
        if (setgroups(0, NULL) || setgid(1000) || setuid(1000)) {
            P("nr: cannot drop root\n");
            _exit(3);
        }
        R("nr get unsearchable", getxattr("priv/f", "user.x", v, sizeof v));
        R("nr list unsearchable", listxattr("priv/f", lst, sizeof lst));
        R("nr get unreadable user", getxattr("secret", "user.x", v, sizeof v));
        R("nr get unreadable foo.bar", getxattr("secret", "foo.bar", v, sizeof v));
        R("nr get unreadable trusted", getxattr("secret", "trusted.x", v, sizeof v));
        R("nr get readable user", getxattr("f", "user.x", v, sizeof v));
        R("nr get readable foo.bar", getxattr("f", "foo.bar", v, sizeof v));
        show_list("nr list unreadable", listxattr("secret", lst, sizeof lst), lst);
        R("nr set unwritable user", setxattr("f", "user.x", "v", 1, 0));
        R("nr set unwritable foo.bar", setxattr("f", "foo.bar", "v", 1, 0));
        R("nr set trusted", setxattr("f", "trusted.x", "v", 1, 0));
        R("nr set sticky dir user", setxattr("sticky", "user.x", "v", 1, 0));
        R("nr remove unwritable user", removexattr("f", "user.x"));
        R("nr remove trusted", removexattr("f", "trusted.x"));
        R("nr remove sticky dir user", removexattr("sticky", "user.x"));
        R("nr lset symlink user", lsetxattr("l", "user.x", "v", 1, 0));
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    P("nr child: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* -- fadvise64 ------------------------------------------------------------------- */

static long fadv(int fd, long off, long len, int advice) {
    return syscall(SYS_fadvise64, fd, off, len, advice);
}

static void fadvise_tests(void) {
    int fd = open("f", O_RDONLY);
    char label[64];
    for (int a = -1; a <= 6; a++) {
        snprintf(label, sizeof label, "fadvise advice %d", a);
        R(label, fadv(fd, 0, 0, a));
    }
    R("fadvise range", fadv(fd, 4096, 1 << 20, POSIX_FADV_WILLNEED));
    R("fadvise negative offset", fadv(fd, -4096, 0, 0));
    R("fadvise negative len", fadv(fd, 0, -1, 0));
    R("fadvise bad fd", fadv(99, 0, 0, 0));
    R("fadvise fd -1", fadv(-1, 0, 0, 0));
    int opath = open("f", O_PATH);
    R("fadvise O_PATH", fadv(opath, 0, 0, 0));
    int wfd = open("f", O_WRONLY);
    R("fadvise write-only", fadv(wfd, 0, 0, POSIX_FADV_DONTNEED));
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    R("fadvise dir", fadv(dfd, 0, 0, 0));
    int null = open("/dev/null", O_RDWR);
    R("fadvise chr", fadv(null, 0, 0, POSIX_FADV_SEQUENTIAL));
    int p[2];
    pipe(p);
    R("fadvise pipe", fadv(p[0], 0, 0, 0));
    R("fadvise pipe bad advice", fadv(p[1], 0, -1, 99));
    /* (A FIFO answers as a pipe; Akuma cannot open FIFOs yet.) */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    R("fadvise socket", fadv(sv[0], 0, 0, 0));
    R("fadvise socket bad advice", fadv(sv[0], 0, 0, 6));
    R("posix_fadvise", posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM));
    R("posix_fadvise pipe (errno value)", posix_fadvise(p[0], 0, 0, 0) == ESPIPE ? 0 : -1);
    close(fd); close(opath); close(wfd); close(dfd); close(null);
    close(p[0]); close(p[1]); close(sv[0]); close(sv[1]);
}

/* -- nice values ----------------------------------------------------------------- */

static long gp(int which, int who) { return syscall(SYS_getpriority, which, who); }
static long sp(int which, int who, int nice) { return syscall(SYS_setpriority, which, who, nice); }

static int waitfor(pid_t c) {
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A process group of two (A and its child B) changed by a root and then an
 * unprivileged A; B stays root. */
static void prio_group(void) {
    pid_t a = fork();
    if (a) {
        P("A status: %d\n", waitfor(a));
        return;
    }
    setpgid(0, 0);
    R("A pgrp set 0", sp(PRIO_PGRP, 0, 0));
    int go[2], ready[2];
    pipe(go);
    pipe(ready);
    pid_t b = fork();
    if (b == 0) {
        char c = 0;
        close(go[1]);
        write(ready[1], &c, 1);
        read(go[0], &c, 1);                   /* until A is done */
        N("B: libc getpriority", getpriority(PRIO_PROCESS, 0));
        _exit(0);
    }
    close(go[0]);
    /* B runs guest code before A changes the group: under qemu-user the
     * child's own helper thread (created after fork) must already exist,
     * or it starts at nice 0 after the PRIO_PGRP set. */
    char c;
    read(ready[0], &c, 1);
    close(ready[0]);
    close(ready[1]);
    R("A pgrp set 3", sp(PRIO_PGRP, 0, 3));
    R("A pgrp get", gp(PRIO_PGRP, 0));
    R("A pgrp get by id", gp(PRIO_PGRP, getpgrp()));
    R("A get B", gp(PRIO_PROCESS, b));
    R("A self get", gp(PRIO_PROCESS, 0));
    R("A self get by pid", gp(PRIO_PROCESS, getpid()));
    R("A self set 8", sp(PRIO_PROCESS, 0, 8));
    R("A pgrp get (B at 3)", gp(PRIO_PGRP, 0));
    R("A set B 9", sp(PRIO_PROCESS, b, 9));
    R("A get B", gp(PRIO_PROCESS, b));
    R("A pgrp set 6", sp(PRIO_PGRP, 0, 6));
    R("A pgrp get", gp(PRIO_PGRP, 0));
    R("A get B", gp(PRIO_PROCESS, b));
    R("A pgrp set -5", sp(PRIO_PGRP, 0, -5));
    R("A pgrp get", gp(PRIO_PGRP, 0));
    struct rlimit rl = {0, 0};
    R("A RLIMIT_NICE 0", setrlimit(RLIMIT_NICE, &rl));
    R("A drop root", setgroups(0, NULL) || setgid(48213) || setuid(48213) ? -1 : 0);
    R("A get B", gp(PRIO_PROCESS, b));
    R("A set B (root's)", sp(PRIO_PROCESS, b, 10));
    R("A set parent (root's)", sp(PRIO_PROCESS, getppid(), 10));
    R("A get parent", gp(PRIO_PROCESS, getppid()) > 0 ? 0 : -1);
    R("A user get", gp(PRIO_USER, 0));
    R("A user get by uid", gp(PRIO_USER, 48213));
    R("A self set -6 (lower)", sp(PRIO_PROCESS, 0, -6));
    R("A self set -5 (same)", sp(PRIO_PROCESS, 0, -5));
    R("A self set 10", sp(PRIO_PROCESS, 0, 10));
    R("A self set 9 (lower)", sp(PRIO_PROCESS, 0, 9));
    R("A nice(-1)", nice(-1));
    R("A nice(2)", nice(2));
    R("A user set 12", sp(PRIO_USER, 0, 12));
    R("A user get", gp(PRIO_USER, 0));
    N("A libc getpriority", getpriority(PRIO_PROCESS, 0));
    R("A pgrp set 15 (B is root's)", sp(PRIO_PGRP, 0, 15));
    N("A libc getpriority", getpriority(PRIO_PROCESS, 0));
    R("A get B", gp(PRIO_PROCESS, b));
    close(go[1]);
    P("B status: %d\n", waitfor(b));
    _exit(0);
}

/* RLIMIT_NICE lets an unprivileged process go as far as 20 - limit.  Raising
 * the hard limit needs CAP_SYS_RESOURCE, which a container's root may lack:
 * this runs in the "nice" mode, compared with Linux's answers written out. */
static void prio_rlimit(void) {
    pid_t c = fork();
    if (c) {
        P("C status: %d\n", waitfor(c));
        return;
    }
    struct rlimit rl = {25, 25};
    R("C RLIMIT_NICE 25", setrlimit(RLIMIT_NICE, &rl));
    R("C drop root", setgroups(0, NULL) || setgid(48214) || setuid(48214) ? -1 : 0);
    R("C self set -5", sp(PRIO_PROCESS, 0, -5));
    R("C self set -6", sp(PRIO_PROCESS, 0, -6));
    N("C nice(1)", nice(1));
    N("C nice(-1)", nice(-1));
    N("C nice(-1) again", nice(-1));
    R("C self get", gp(PRIO_PROCESS, 0));
    _exit(0);
}

static void prio_tests(void) {
    /* Start from 0 whatever nice value the runner has (root may lower it). */
    R("prio set self 0", sp(PRIO_PROCESS, 0, 0));
    R("prio get", gp(PRIO_PROCESS, 0));
    R("prio get which 3", gp(3, 0));
    R("prio get which -1", gp(-1, 0));
    R("prio set which 3", sp(3, 0, 0));
    R("prio set 100 (clamped)", sp(PRIO_PROCESS, 0, 100));
    R("prio get", gp(PRIO_PROCESS, 0));
    N("prio libc getpriority", getpriority(PRIO_PROCESS, 0));
    R("prio set -100 (clamped)", sp(PRIO_PROCESS, 0, -100));
    R("prio get", gp(PRIO_PROCESS, 0));
    N("prio libc getpriority", getpriority(PRIO_PROCESS, 0));
    R("prio set by pid", sp(PRIO_PROCESS, getpid(), 0));
    R("prio nice(5)", nice(5));                 /* `nice -n 5 true` */
    N("prio libc getpriority", getpriority(PRIO_PROCESS, 0));
    pid_t c = fork();
    if (c == 0) {
        N("prio child inherited", getpriority(PRIO_PROCESS, 0));
        _exit(0);
    }
    waitfor(c);
    R("prio get reaped child", gp(PRIO_PROCESS, c));
    R("prio set reaped child", sp(PRIO_PROCESS, c, 1));
    R("prio get reaped group", gp(PRIO_PGRP, c));
    R("prio get user 54321", gp(PRIO_USER, 54321));
    R("prio set user 54321", sp(PRIO_USER, 54321, 1));
    R("prio get pid -3", gp(PRIO_PROCESS, -3));
    R("prio get pgrp -3", gp(PRIO_PGRP, -3));
    R("prio nice(-5)", nice(-5));               /* root lowers it again */
    prio_group();
}

/* /proc/self/stat's priority and nice fields (18 and 19). */
static void stat_nice(const char *label) {
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY);
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char *s = strrchr(buf, ')');
    long prio = -99, ni = -99;
    if (s) {
        int field = 2;
        for (char *tok = strtok(s + 1, " "); tok; tok = strtok(NULL, " ")) {
            field++;
            if (field == 18) prio = atol(tok);
            if (field == 19) ni = atol(tok);
        }
    }
    P("%s: nice=%d stat priority=%ld nice=%ld\n", label, getpriority(PRIO_PROCESS, 0), prio, ni);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
        stat_nice("after exec");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "nice") == 0) {
        setpriority(PRIO_PROCESS, 0, 0);
        stat_nice("start");
        R("nice(5)", nice(5));
        stat_nice("after nice");
        pid_t c = fork();
        if (c == 0) {
            stat_nice("forked child");
            _exit(0);
        }
        waitfor(c);
        prio_rlimit();
        char *args[] = {argv[0], "after-exec", NULL};
        execve(argv[0], args, environ);
        P("execve: %s\n", ename(errno));
        return 1;
    }
    if (argc < 2 || chdir(argv[1]) != 0 || mkdir("xp", 0755) != 0 || chdir("xp") != 0) {
        P("usage: xattr_prio DIR | nice\n");
        return 2;
    }
    umask(022);
    memset(name255, 'a', 255);
    memcpy(name255, "user.", 5);
    memset(name256, 'a', 256);
    memcpy(name256, "user.", 5);

    xattr_root();
    xattr_nonroot();
    fadvise_tests();
    prio_tests();

    const char *files[] = {"f", "s", "secret", "priv/f", "l", "dl", "loop", NULL};
    for (int i = 0; files[i]; i++)
        unlink(files[i]);
    rmdir("d"); rmdir("priv"); rmdir("sticky");
    chdir("..");
    rmdir("xp");
    P("done\n");
    return 0;
}
