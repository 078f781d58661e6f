/* Permission checks for a non-root caller (uid 1000, groups 1000 and 2000),
 * one line per call; run as root in argv[1], compared with Linux (qemu-user
 * on the host) by tests/test_vfs_perm.py. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *en(int e) {
    switch (e) {
    case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case EACCES: return "EACCES";
    case ENOTDIR: return "ENOTDIR"; case EINVAL: return "EINVAL"; case EEXIST: return "EEXIST";
    case EISDIR: return "EISDIR"; case ENOTEMPTY: return "ENOTEMPTY"; default: return strerror(e);
    }
}

#define R(label, expr) do { errno = 0; long r_ = (long)(expr); \
    if (r_ < 0) printf("%s: %s\n", label, en(errno)); else printf("%s: OK\n", label); } while (0)
#define RC(label, expr) do { errno = 0; long r_ = (long)(expr); \
    if (r_ < 0) printf("%s: %s\n", label, en(errno)); else { printf("%s: OK\n", label); close(r_); } } while (0)

static void mk(const char *path, int mode, int uid, int gid) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) { write(fd, "#!/bin/false\n", 13); close(fd); }
    chown(path, uid, gid);
    chmod(path, mode);
}

static void md(const char *path, int mode, int uid, int gid) {
    mkdir(path, 0700);
    chown(path, uid, gid);
    chmod(path, mode);
}

static void owner(const char *label, const char *path) {
    struct stat st;
    if (stat(path, &st) < 0) { printf("%s: %s\n", label, en(errno)); return; }
    printf("%s: %o %d:%d\n", label, st.st_mode & 07777, st.st_uid, st.st_gid);
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) < 0) return 2;
    md("open", 0755, 0, 0);
    md("noexec", 0744, 0, 0);            /* r but no x for others */
    md("noread", 0711, 0, 0);            /* x but no r */
    md("mine", 0755, 1000, 1000);
    md("grpw", 0775, 0, 2000);           /* writable through a supplementary group */
    md("tmp", 01777, 0, 0);
    md("sgid", 02775, 0, 2000);
    mk("open/r", 0644, 0, 0);
    mk("open/w", 0666, 0, 0);
    mk("open/none", 0600, 0, 0);
    mk("open/gr", 0640, 0, 1000);
    mk("open/x", 0755, 0, 0);
    mk("open/nox", 0644, 0, 0);
    mk("open/suid", 04777, 0, 0);
    mk("noexec/f", 0644, 0, 0);
    mk("noread/f", 0644, 0, 0);
    mk("tmp/roots", 0666, 0, 0);
    mk("tmp/users", 0666, 1000, 1000);
    mk("mine/f", 0644, 1000, 1000);
    mk("mine/rootfile", 0644, 0, 0);
    fflush(stdout);

    pid_t pid = fork();
    if (pid == 0) {
        gid_t groups[2] = {1000, 2000};
        if (setgroups(2, groups) < 0 || setgid(1000) < 0 || setuid(1000) < 0) _exit(3);
        /* search and read */
        RC("open r", open("open/r", O_RDONLY));
        RC("open r for write", open("open/r", O_WRONLY));
        RC("open w rdwr", open("open/w", O_RDWR));
        RC("open none", open("open/none", O_RDONLY));
        RC("open group r", open("open/gr", O_RDONLY));
        RC("open r O_TRUNC", open("open/r", O_RDONLY | O_TRUNC));
        RC("through dir without x", open("noexec/f", O_RDONLY));
        R("stat through dir without x", access("noexec/f", F_OK));
        RC("list dir without x", open("noexec", O_RDONLY | O_DIRECTORY));
        RC("through dir without r", open("noread/f", O_RDONLY));
        RC("list dir without r", open("noread", O_RDONLY | O_DIRECTORY));
        R("chdir without x", chdir("noexec"));
        /* access with the real ids */
        R("access R", access("open/r", R_OK));
        R("access W", access("open/r", W_OK));
        R("access X", access("open/x", X_OK));
        R("access X nox", access("open/nox", X_OK));
        R("faccessat AT_EACCESS", faccessat(AT_FDCWD, "open/r", R_OK, AT_EACCESS));
        R("faccessat bad flag", faccessat(AT_FDCWD, "open/r", R_OK, 0x4));
        /* exec */
        {
            char *a[] = {"x", NULL};
            R("exec without x", execv("open/nox", a));
        }
        /* creating and removing */
        RC("create in root dir", open("open/new", O_WRONLY | O_CREAT, 0644));
        R("mkdir in root dir", mkdir("open/d", 0755));
        R("unlink in root dir", unlink("open/r"));
        R("rename out of root dir", rename("open/r", "mine/r"));
        R("symlink in root dir", symlink("x", "open/l"));
        R("link in root dir", link("mine/f", "open/l2"));
        RC("create in own dir", open("mine/new", O_WRONLY | O_CREAT, 0640));
        owner("own new file", "mine/new");
        R("mkdir in own dir", mkdir("mine/d", 0777));
        R("rmdir in own dir", rmdir("mine/d"));
        R("unlink root file in own dir", unlink("mine/rootfile"));
        RC("create via group", open("grpw/g", O_WRONLY | O_CREAT, 0644));
        owner("group dir new file", "grpw/g");
        /* sticky /tmp */
        R("sticky unlink other's", unlink("tmp/roots"));
        R("sticky rename other's", rename("tmp/roots", "tmp/x"));
        R("exchange out of root dir",
          syscall(SYS_renameat2, AT_FDCWD, "open/r", AT_FDCWD, "mine/f", 2));
        R("sticky exchange other's",
          syscall(SYS_renameat2, AT_FDCWD, "tmp/roots", AT_FDCWD, "tmp/users", 2));
        R("sticky unlink own", unlink("tmp/users"));
        RC("sticky create", open("tmp/new", O_WRONLY | O_CREAT, 0600));
        /* setgid directory */
        RC("create in setgid dir", open("sgid/f", O_WRONLY | O_CREAT, 0644));
        owner("setgid dir file", "sgid/f");
        R("mkdir in setgid dir", mkdir("sgid/d", 0755));
        owner("setgid dir subdir", "sgid/d");
        /* chmod / chown */
        R("chmod not owner", chmod("open/r", 0777));
        R("chmod owner", chmod("mine/f", 0600));
        R("chown to root", chown("mine/f", 0, -1));
        R("chgrp member", chown("mine/f", -1, 2000));
        owner("after chgrp", "mine/f");
        R("chgrp non-member", chown("mine/f", -1, 3000));
        R("chmod g+s non-member", chmod("mine/f", 02755));
        owner("after g+s", "mine/f");
        /* set-id bits cleared by a write */
        {
            int fd = open("open/suid", O_WRONLY);
            write(fd, "x", 1);
            close(fd);
            owner("suid after write", "open/suid");
        }
        /* utimensat */
        R("utimes now not owner, writable", utimensat(AT_FDCWD, "open/w", NULL, 0));
        R("utimes now not owner, not writable", utimensat(AT_FDCWD, "open/r", NULL, 0));
        {
            struct timespec ts[2] = {{1, 0}, {2, 0}};
            R("utimes set not owner", utimensat(AT_FDCWD, "open/w", ts, 0));
            R("utimes set owner", utimensat(AT_FDCWD, "mine/f", ts, 0));
        }
        R("truncate not writable", truncate("open/r", 0));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    /* root: may read anything, exec needs one x bit */
    R("root open none", open("open/none", O_RDWR));
    R("root access X nox", access("open/nox", X_OK));
    R("root access X dir", access("noexec", X_OK));
    return 0;
}
