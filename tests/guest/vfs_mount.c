/* mount(2) / umount2(2): new mounts, binds, remounts, busy and lazy
 * unmounts, and the errno of every refusal, printed one line each.
 * argv[1]: a scratch directory; argv[2] (optional): an ext2 image file.
 * The expected lines are Linux's answers (tests/test_vfs_mount.py). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *en(int e) {
    switch (e) {
    case 0: return "OK"; case EPERM: return "EPERM"; case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR"; case EINVAL: return "EINVAL"; case EBUSY: return "EBUSY";
    case ENODEV: return "ENODEV"; case EROFS: return "EROFS"; case ENOSPC: return "ENOSPC";
    case EAGAIN: return "EAGAIN"; case EACCES: return "EACCES"; case ELOOP: return "ELOOP";
    case EEXIST: return "EEXIST"; case ENOTBLK: return "ENOTBLK"; default: return strerror(e);
    }
}

#define R(label, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s: %s\n", label, r_ < 0 ? en(errno) : "OK"); } while (0)

static char buf[8192];

static void put(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { printf("put %s: %s\n", path, en(errno)); return; }
    if (write(fd, s, strlen(s)) < 0) printf("write %s: %s\n", path, en(errno));
    close(fd);
}

static void show(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { printf("cat %s: %s\n", path, en(errno)); return; }
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    printf("cat %s: %s", path, buf);
}

/* Is `dir` listed as a mount point in /proc/self/mountinfo (field 5)? */
static int in_mountinfo(const char *dir, const char *fstype) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024], mp[512], ty[64];
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *dash = strstr(line, " - ");
        if (sscanf(line, "%*d %*d %*s %*s %511s", mp) == 1 && dash &&
            sscanf(dash + 3, "%63s", ty) == 1 && !strcmp(mp, dir) && !strcmp(ty, fstype))
            found = 1;
    }
    if (f) fclose(f);
    return found;
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) < 0) return 2;
    mkdir("a", 0755); mkdir("b", 0755); mkdir("c", 0755); mkdir("x", 0755);
    put("file", "plain\n");
    put("file2", "other\n");

    R("no fstype", mount("none", "a", NULL, 0, NULL));
    R("unknown fstype", mount("none", "a", "nosuchfs", 0, NULL));
    R("missing target", mount("none", "nonexistent", "tmpfs", 0, NULL));
    R("target under a file", mount("none", "file/x", "tmpfs", 0, NULL));
    R("tmpfs on a file", mount("none", "file", "tmpfs", 0, NULL));
    R("bad tmpfs option", mount("none", "a", "tmpfs", 0, "bogus=1"));
    R("MS_NOUSER", mount("none", "a", "tmpfs", 1u << 31, NULL));
    R("umount not a mount", umount("a"));
    R("umount missing", umount("nonexistent"));
    R("umount2 bad flags", umount2("a", 0x100));

    /* tmpfs with a size limit */
    R("mount tmpfs size=8k", mount("scratch", "a", "tmpfs", 0, "size=8k,mode=0700"));
    {
        char where[600];
        snprintf(where, sizeof where, "%s/a", getcwd(buf, 512));
        printf("in mountinfo: %d\n", in_mountinfo(where, "tmpfs"));
    }
    struct stat st;
    stat("a", &st);
    printf("a mode: %o\n", st.st_mode & 07777);
    {
        int fd = open("a/big", O_WRONLY | O_CREAT, 0644);
        static char block[4096];
        int n = 0;
        long r;
        while ((r = write(fd, block, sizeof block)) > 0) n += r;
        printf("tmpfs filled: %d bytes, then %s\n", n, en(errno));
        close(fd);
    }
    /* .. across the mount point */
    struct stat up, here;
    stat("a/..", &up); stat(".", &here);
    printf("a/.. is the parent: %d\n", up.st_ino == here.st_ino && up.st_dev == here.st_dev);
    R("umount tmpfs", umount("a"));
    R("a/big gone", access("a/big", F_OK));

    /* read-only remount */
    R("mount tmpfs", mount("t2", "a", "tmpfs", MS_NOSUID | MS_NODEV, NULL));
    put("a/f", "data\n");
    R("remount ro", mount(NULL, "a", NULL, MS_REMOUNT | MS_RDONLY, NULL));
    R("write after ro", open("a/g", O_WRONLY | O_CREAT, 0644));
    R("mkdir after ro", mkdir("a/d", 0755));
    show("a/f");
    R("remount not a mount root", mount(NULL, "b", NULL, MS_REMOUNT, NULL));
    R("remount rw", mount(NULL, "a", NULL, MS_REMOUNT, NULL));
    R("write after rw", open("a/g", O_WRONLY | O_CREAT, 0644));

    /* bind mounts: a directory, a file, recursive */
    R("bind dir", mount("a", "b", NULL, MS_BIND, NULL));
    show("b/f");
    put("b/h", "via bind\n");
    show("a/h");
    R("bind file", mount("file", "file2", NULL, MS_BIND, NULL));
    show("file2");
    R("bind dir on file", mount("a", "file2", NULL, MS_BIND, NULL));
    R("bind missing source", mount("nonexistent", "c", NULL, MS_BIND, NULL));
    R("bind no source", mount(NULL, "c", NULL, MS_BIND, NULL));
    R("umount file bind", umount("file2"));
    show("file2");
    mkdir("a/sub", 0755);
    R("mount under a", mount("t3", "a/sub", "tmpfs", 0, NULL));
    put("a/sub/deep", "deep\n");
    R("rbind", mount("a", "c", NULL, MS_BIND | MS_REC, NULL));
    show("c/sub/deep");
    R("umount c busy (child)", umount("c"));
    R("umount c/sub", umount("c/sub"));
    R("umount c", umount("c"));
    R("bind ro remount", mount(NULL, "b", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
    R("write via ro bind", open("b/z", O_WRONLY | O_CREAT, 0644));
    R("write via rw original", open("a/z", O_WRONLY | O_CREAT, 0644));
    R("umount b", umount("b"));

    /* busy: an open file, a cwd; lazy detach keeps the open file working */
    R("umount a busy (child)", umount("a"));
    R("umount a/sub", umount("a/sub"));
    int fd = open("a/f", O_RDONLY);
    R("umount a busy (open file)", umount("a"));
    R("umount MNT_FORCE busy", umount2("a", MNT_FORCE));
    R("MNT_EXPIRE|MNT_DETACH", umount2("a", MNT_EXPIRE | MNT_DETACH));
    R("umount MNT_DETACH", umount2("a", MNT_DETACH));
    int n = read(fd, buf, 100);
    printf("read after detach: %d\n", n);
    close(fd);
    R("a/f gone", access("a/f", F_OK));
    R("mount tmpfs", mount("t4", "a", "tmpfs", 0, NULL));
    chdir("a");
    R("umount cwd busy", umount("../a"));
    chdir("..");
    R("MNT_EXPIRE first", umount2("a", MNT_EXPIRE));
    R("MNT_EXPIRE second", umount2("a", MNT_EXPIRE));

    /* noexec */
    R("mount noexec", mount("t5", "a", "tmpfs", MS_NOEXEC, NULL));
    {
        int in = open("/proc/self/exe", O_RDONLY), out = open("a/prog", O_WRONLY | O_CREAT, 0755);
        long k;
        while ((k = read(in, buf, sizeof buf)) > 0) write(out, buf, k);
        close(in); close(out);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {"a/prog", NULL};
            execv("a/prog", args);
            printf("exec on noexec: %s\n", en(errno));
            fflush(stdout);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    R("umount noexec", umount("a"));

    /* stacking: a second mount hides the first until it goes */
    R("mount lower", mount("l", "a", "tmpfs", 0, NULL));
    put("a/which", "lower\n");
    R("mount upper", mount("u", "a", "tmpfs", 0, NULL));
    R("upper hides lower", access("a/which", F_OK));
    R("umount upper", umount("a"));
    show("a/which");
    R("umount lower", umount("a"));

    /* not root */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setuid(1000) < 0) _exit(3);
        R("user mount", mount("none", "a", "tmpfs", 0, NULL));
        R("user mount missing target", mount("none", "nonexistent", "tmpfs", 0, NULL));
        R("user umount", umount("x"));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);

    /* ext2 from an image file */
    if (argc > 2) {
        R("mount ext2 image", mount(argv[2], "x", "ext2", 0, NULL));
        put("x/hello", "on ext2\n");
        show("x/hello");
        R("remount ext2 ro", mount(NULL, "x", NULL, MS_REMOUNT | MS_RDONLY, NULL));
        R("write ext2 ro", open("x/new", O_WRONLY | O_CREAT, 0644));
        R("umount ext2", umount("x"));
        R("mount ext2 from dir", mount(".", "x", "ext2", 0, NULL));
    }
    unlink("file"); unlink("file2");
    rmdir("a"); rmdir("b"); rmdir("c"); rmdir("x");
    return 0;
}
