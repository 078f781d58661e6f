/* File metadata syscalls, with their error paths:
 *   fs_meta DIR
 * linkat, mknodat, fchmod/fchmodat, fchown/fchownat, utimensat/futimens,
 * truncate, fallocate, statx, statfs/fstatfs, close_range, preadv/pwritev
 * (and the *2 forms), copy_file_range, syncfs/sync, and the chmod/chown/
 * utimensat/link rules for a non-root caller (a forked child that drops to
 * uid 1000).  Device and socket nodes are made in a fresh directory under
 * /tmp.  Output is deterministic: no inode numbers, no absolute times. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char line[512];
#define P(...) do { snprintf(line, sizeof line, __VA_ARGS__); write(1, line, strlen(line)); } while (0)
/* One check: "label: 0" or "label: -1 ENAME". */
#define R(label, expr) do { errno = 0; long r_ = (long)(expr); \
    if (r_ < 0) P("%s: %ld %s\n", label, r_, ename(errno)); else P("%s: %ld\n", label, r_); } while (0)

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case EBADF: return "EBADF";
    case EACCES: return "EACCES"; case EFAULT: return "EFAULT"; case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV"; case ENOTDIR: return "ENOTDIR"; case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL"; case EFBIG: return "EFBIG"; case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS"; case EOPNOTSUPP: return "EOPNOTSUPP"; case ENODEV: return "ENODEV";
    case EOVERFLOW: return "EOVERFLOW"; case ENOSYS: return "ENOSYS"; case EAGAIN: return "EAGAIN";
    case ELOOP: return "ELOOP"; case ENOTEMPTY: return "ENOTEMPTY"; case EBUSY: return "EBUSY";
    case EDEADLK: return "EDEADLK";
    default: { static char b[32]; snprintf(b, sizeof b, "E%d", e); return b; }
    }
}

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif
#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#endif
#ifndef UTIME_NOW
#define UTIME_NOW ((1l << 30) - 1l)
#define UTIME_OMIT ((1l << 30) - 2l)
#endif

struct sx_ts { int64_t sec; uint32_t nsec; int32_t pad; };
struct sx {
    uint32_t mask, blksize; uint64_t attributes;
    uint32_t nlink, uid, gid; uint16_t mode, pad0;
    uint64_t ino, size, blocks, attributes_mask;
    struct sx_ts atime, btime, ctime, mtime;
    uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
    uint64_t spare[14];
};

static void put(const char *name, const char *data) {
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, data, strlen(data));
    close(fd);
}

static mode_t mode_of(const char *p) {
    struct stat st;
    if (lstat(p, &st) < 0) return 0;
    return st.st_mode;
}

static long long size_of(const char *p) {
    struct stat st;
    if (stat(p, &st) < 0) return -1;
    return st.st_size;
}

static void show(const char *name, const char *p) {
    char buf[64];
    int fd = open(p, O_RDONLY);
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) n = 0;
    buf[n] = 0;
    for (long i = 0; i < n; i++) if (buf[i] == 0) buf[i] = '.';
    P("%s: [%s]\n", name, buf);
}

static void links(void) {
    put("a", "alpha");
    R("linkat a->b", linkat(AT_FDCWD, "a", AT_FDCWD, "b", 0));
    struct stat st;
    stat("a", &st);
    P("nlink after link: %ld\n", (long)st.st_nlink);
    R("linkat exists", linkat(AT_FDCWD, "a", AT_FDCWD, "b", 0));
    R("linkat missing", linkat(AT_FDCWD, "nope", AT_FDCWD, "c", 0));
    R("linkat badflags", linkat(AT_FDCWD, "a", AT_FDCWD, "c", 0x1));
    R("linkat dir", linkat(AT_FDCWD, ".", AT_FDCWD, "dirlink", 0));
    R("linkat noparent", linkat(AT_FDCWD, "a", AT_FDCWD, "nodir/c", 0));
    R("linkat empty noflag", linkat(AT_FDCWD, "", AT_FDCWD, "c", 0));
    symlink("a", "sl");
    R("linkat symlink nofollow", linkat(AT_FDCWD, "sl", AT_FDCWD, "sl2", 0));
    P("sl2 is link: %d\n", S_ISLNK(mode_of("sl2")));
    R("linkat symlink follow", linkat(AT_FDCWD, "sl", AT_FDCWD, "sl3", AT_SYMLINK_FOLLOW));
    P("sl3 is reg: %d\n", S_ISREG(mode_of("sl3")));
    int fd = open("a", O_RDONLY);
    R("linkat AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, "e", AT_EMPTY_PATH));
    show("e", "e");
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    R("linkat dirfd rel", linkat(dfd, "a", dfd, "f", 0));
    R("linkat dirfd notdir", linkat(fd, "a", AT_FDCWD, "g", 0));
    close(fd);
    close(dfd);
    stat("a", &st);
    P("nlink now: %ld\n", (long)st.st_nlink);
    unlink("b"); unlink("sl"); unlink("sl2"); unlink("sl3"); unlink("e"); unlink("f");
}

static void nodes(const char *tmpdir) {
    char p[256];
    R("mknod fifo", mknodat(AT_FDCWD, "fifo", S_IFIFO | 0640, 0));
    P("fifo mode: %o\n", mode_of("fifo"));
    R("mknod reg", mknodat(AT_FDCWD, "regnode", S_IFREG | 0600, 0));
    P("regnode mode: %o\n", mode_of("regnode"));
    R("mknod zero-type", mknodat(AT_FDCWD, "zeronode", 0644, 0));
    P("zeronode mode: %o\n", mode_of("zeronode"));
    R("mknod exists", mknodat(AT_FDCWD, "fifo", S_IFIFO | 0600, 0));
    R("mknod dir type", mknodat(AT_FDCWD, "d", S_IFDIR | 0755, 0));
    R("mknod bad type", mknodat(AT_FDCWD, "bad", 0170000 | 0644, 0));
    R("mknod bad type2", mknodat(AT_FDCWD, "bad", 0030000 | 0644, 0));
    R("mknod noparent", mknodat(AT_FDCWD, "no/x", S_IFIFO | 0600, 0));
    mode_t old = umask(077);
    R("mknod umask", mknodat(AT_FDCWD, "umasked", S_IFIFO | 0666, 0));
    P("umasked mode: %o\n", mode_of("umasked"));
    umask(old);
    unlink("fifo"); unlink("regnode"); unlink("zeronode"); unlink("umasked");
    /* device and socket nodes: in the /tmp directory */
    snprintf(p, sizeof p, "%s/chr", tmpdir);
    R("mknod chr", mknodat(AT_FDCWD, p, S_IFCHR | 0620, makedev(1, 3)));
    struct stat st;
    stat(p, &st);
    P("chr: mode=%o rdev=%u,%u size=%ld\n", st.st_mode, major(st.st_rdev), minor(st.st_rdev),
      (long)st.st_size);
    snprintf(p, sizeof p, "%s/blk", tmpdir);
    R("mknod blk", mknodat(AT_FDCWD, p, S_IFBLK | 0600, makedev(259, 300)));
    stat(p, &st);
    P("blk: mode=%o rdev=%u,%u\n", st.st_mode, major(st.st_rdev), minor(st.st_rdev));
    snprintf(p, sizeof p, "%s/sock", tmpdir);
    R("mknod sock", mknodat(AT_FDCWD, p, S_IFSOCK | 0755, 0));
    P("sock mode: %o\n", mode_of(p));
}

static void modes(void) {
    put("m", "x");
    R("fchmodat", fchmodat(AT_FDCWD, "m", 04755, 0));
    P("m mode: %o\n", mode_of("m"));
    int fd = open("m", O_RDONLY);
    R("fchmod", fchmod(fd, 0600));
    P("m mode: %o\n", mode_of("m"));
    R("fchmod high bits", fchmod(fd, 0170644));
    P("m mode: %o\n", mode_of("m"));
    R("fchmod badfd", syscall(SYS_fchmod, 99, 0644));
    int pfd = open("m", O_PATH);
    R("fchmod O_PATH", syscall(SYS_fchmod, pfd, 0644));
    R("fchown O_PATH", syscall(SYS_fchown, pfd, 0, 0));
    close(pfd);
    close(fd);
    symlink("m", "msl");
    R("fchmodat via symlink", fchmodat(AT_FDCWD, "msl", 0640, 0));
    P("m mode: %o msl is link: %d\n", mode_of("m"), S_ISLNK(mode_of("msl")));
    R("fchmodat NOFOLLOW symlink", fchmodat(AT_FDCWD, "msl", 0600, AT_SYMLINK_NOFOLLOW));
    R("fchmodat missing", fchmodat(AT_FDCWD, "nope", 0600, 0));
    R("fchmodat notdir", fchmodat(AT_FDCWD, "m/x", 0600, 0));
    R("fchmodat empty", fchmodat(AT_FDCWD, "", 0600, 0));
    /* chown as root */
    R("fchownat", fchownat(AT_FDCWD, "m", 1000, 1000, 0));
    struct stat st;
    stat("m", &st);
    P("m owner: %d:%d\n", st.st_uid, st.st_gid);
    R("fchownat -1 -1", fchownat(AT_FDCWD, "m", -1, -1, 0));
    R("fchownat gid only", fchownat(AT_FDCWD, "m", -1, 2000, 0));
    stat("m", &st);
    P("m owner: %d:%d\n", st.st_uid, st.st_gid);
    R("lchown symlink", fchownat(AT_FDCWD, "msl", 1234, 1234, AT_SYMLINK_NOFOLLOW));
    lstat("msl", &st);
    P("msl owner: %d:%d\n", st.st_uid, st.st_gid);
    stat("m", &st);
    P("m owner: %d:%d\n", st.st_uid, st.st_gid);
    R("fchownat bad flags", fchownat(AT_FDCWD, "m", 0, 0, 0x2));
    R("fchownat empty noflag", fchownat(AT_FDCWD, "", 0, 0, 0));
    fd = open("m", O_RDONLY);
    R("fchownat AT_EMPTY_PATH", fchownat(fd, "", 0, 0, AT_EMPTY_PATH));
    stat("m", &st);
    P("m owner: %d:%d\n", st.st_uid, st.st_gid);
    /* chown clears set-id bits of a non-directory, even for root */
    chmod("m", 06755);
    R("fchown", fchown(fd, 0, 0));
    P("m mode after chown: %o\n", mode_of("m"));
    chmod("m", 02644);     /* setgid without g+x: root keeps it */
    R("fchown again", fchown(fd, -1, -1));
    P("m mode after chown: %o\n", mode_of("m"));
    close(fd);
    mkdir("sd", 0755);
    chmod("sd", 06755);
    R("chown dir", chown("sd", 0, 0));
    P("sd mode: %o\n", mode_of("sd"));
    rmdir("sd");
    unlink("msl");
}

static void times(void) {
    struct stat st;
    put("t", "t");
    struct timespec ts[2] = {{1000000000, 123456789}, {1500000000, 987654321}};
    R("utimensat set", utimensat(AT_FDCWD, "t", ts, 0));
    stat("t", &st);
    P("t times: a=%ld.%09ld m=%ld.%09ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
      (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec om[2] = {{5, UTIME_OMIT}, {7, 0}};
    R("utimensat omit atime", utimensat(AT_FDCWD, "t", om, 0));
    stat("t", &st);
    P("t times: a=%ld.%09ld m=%ld.%09ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
      (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    time_t before = time(NULL);
    R("utimensat NULL", utimensat(AT_FDCWD, "t", NULL, 0));
    stat("t", &st);
    P("NULL is now: %d\n", st.st_mtim.tv_sec >= before - 2 && st.st_atim.tv_sec >= before - 2);
    struct timespec nw[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    utimensat(AT_FDCWD, "t", ts, 0);
    R("utimensat now/omit", utimensat(AT_FDCWD, "t", nw, 0));
    stat("t", &st);
    P("atime now: %d mtime kept: %d\n", st.st_atim.tv_sec >= before - 2,
      st.st_mtim.tv_sec == 1500000000);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    R("utimensat bad nsec", utimensat(AT_FDCWD, "t", bad, 0));
    struct timespec neg[2] = {{0, -1}, {0, 0}};
    R("utimensat neg nsec", utimensat(AT_FDCWD, "t", neg, 0));
    R("utimensat bad nsec missing", utimensat(AT_FDCWD, "nope", bad, 0));
    R("utimensat missing", utimensat(AT_FDCWD, "nope", NULL, 0));
    struct timespec bothomit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    R("utimensat both omit missing", utimensat(AT_FDCWD, "nope", bothomit, 0));
    R("utimensat both omit badfd", syscall(SYS_utimensat, 99, 0, bothomit, 0));
    R("utimensat bad flags", utimensat(AT_FDCWD, "t", NULL, 0x4));
    R("utimensat NULL path fdcwd", syscall(SYS_utimensat, AT_FDCWD, 0, NULL, 0));
    R("utimensat empty path", utimensat(AT_FDCWD, "", NULL, 0));
    struct timespec neg_sec[2] = {{-1, 5}, {-100, 0}};
    R("utimensat negative sec", utimensat(AT_FDCWD, "t", neg_sec, 0));
    stat("t", &st);
    P("t times: a=%ld.%09ld m=%ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
      (long)st.st_mtim.tv_sec);
    symlink("t", "tsl");
    struct timespec lt[2] = {{2000, 0}, {3000, 0}};
    R("utimensat NOFOLLOW", utimensat(AT_FDCWD, "tsl", lt, AT_SYMLINK_NOFOLLOW));
    lstat("tsl", &st);
    P("tsl mtime: %ld\n", (long)st.st_mtim.tv_sec);
    stat("t", &st);
    P("t mtime: %ld\n", (long)st.st_mtim.tv_sec);
    unlink("tsl");
    int fd = open("t", O_RDONLY);
    R("futimens", futimens(fd, lt));
    stat("t", &st);
    P("t mtime: %ld\n", (long)st.st_mtim.tv_sec);
    R("utimensat fd flags", syscall(SYS_utimensat, fd, 0, lt, AT_SYMLINK_NOFOLLOW));
    R("futimens badfd", futimens(99, lt));
    int pfd = open("t", O_PATH);
    R("futimens O_PATH", futimens(pfd, lt));
    R("utimensat O_PATH empty", utimensat(pfd, "", ts, AT_EMPTY_PATH));
    stat("t", &st);
    P("t mtime: %ld\n", (long)st.st_mtim.tv_sec);
    close(pfd);
    close(fd);
}

static void sizes(void) {
    put("s", "0123456789");
    R("truncate", truncate("s", 4));
    P("s size: %lld\n", size_of("s"));
    R("truncate grow", truncate("s", 8));
    show("s", "s");
    R("truncate neg", truncate("s", -1));
    R("truncate dir", truncate(".", 0));
    R("truncate missing", truncate("nope", 0));
    R("truncate empty", truncate("", 0));
    R("truncate notdir", truncate("s/x", 0));
    mkfifo("ff", 0600);
    R("truncate fifo", truncate("ff", 0));
    symlink("s", "ssl");
    R("truncate via symlink", truncate("ssl", 2));
    P("s size: %lld\n", size_of("s"));
    unlink("ssl");
    int fd = open("s", O_RDWR);
    R("fallocate extend", fallocate(fd, 0, 0, 100));
    P("s size: %lld\n", size_of("s"));
    R("fallocate inside", fallocate(fd, 0, 10, 20));
    P("s size: %lld\n", size_of("s"));
    R("fallocate keep size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4096));
    P("s size: %lld\n", size_of("s"));
    pwrite(fd, "abcdefgh", 8, 0);
    R("fallocate punch", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 3));
    show("s", "s");
    P("s size: %lld\n", size_of("s"));
    R("fallocate punch no keep", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 1));
    R("fallocate punch+zero", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 1));
    R("fallocate collapse+keep", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096));
    R("fallocate unknown mode", fallocate(fd, 0x10000, 0, 1));
    R("fallocate zero len", fallocate(fd, 0, 0, 0));
    R("fallocate neg off", fallocate(fd, 0, -1, 10));
    R("fallocate overflow", fallocate(fd, 0, 0x7fffffffffffff00ll, 0x1000));
    close(fd);
    fd = open("s", O_RDONLY);
    R("fallocate rdonly", fallocate(fd, 0, 0, 1));
    close(fd);
    fd = open(".", O_RDONLY | O_DIRECTORY);
    R("fallocate dir", fallocate(fd, 0, 0, 1));
    close(fd);
    int pfd[2];
    pipe(pfd);
    R("fallocate pipe", fallocate(pfd[1], 0, 0, 1));
    R("fallocate badfd", fallocate(99, 0, 0, 1));
    close(pfd[0]); close(pfd[1]);
    unlink("ff");
}

static void statxs(void) {
    struct sx x;
    struct stat st;
    put("x", "hello statx");
    memset(&x, 0xee, sizeof x);
    R("statx", syscall(SYS_statx, AT_FDCWD, "x", 0, 0x7ff, &x));
    stat("x", &st);
    P("statx: basic=%x mode=%o nlink=%u size=%llu uid=%u gid=%u blksize_ok=%d\n",
      x.mask & 0x7ff, x.mode, x.nlink, (unsigned long long)x.size, x.uid, x.gid,
      x.blksize == (uint32_t)st.st_blksize);
    P("statx vs stat: ino=%d dev=%d rdev=%d blocks=%d mtime=%d ctime=%d atime=%d\n",
      x.ino == st.st_ino, x.dev_major == major(st.st_dev) && x.dev_minor == minor(st.st_dev),
      x.rdev_major == 0 && x.rdev_minor == 0, x.blocks == (uint64_t)st.st_blocks,
      x.mtime.sec == st.st_mtim.tv_sec && x.mtime.nsec == (uint32_t)st.st_mtim.tv_nsec,
      x.ctime.sec == st.st_ctim.tv_sec && x.ctime.nsec == (uint32_t)st.st_ctim.tv_nsec,
      x.atime.sec == st.st_atim.tv_sec && x.atime.nsec == (uint32_t)st.st_atim.tv_nsec);
    P("statx attrs: mount_root_known=%d is_mount_root=%d pad=%d\n",
      !!(x.attributes_mask & 0x2000), !!(x.attributes & 0x2000), x.mtime.pad);
    symlink("x", "xsl");
    R("statx nofollow", syscall(SYS_statx, AT_FDCWD, "xsl", AT_SYMLINK_NOFOLLOW, 0x7ff, &x));
    P("xsl: islnk=%d size=%llu\n", S_ISLNK(x.mode), (unsigned long long)x.size);
    R("statx follow", syscall(SYS_statx, AT_FDCWD, "xsl", 0, 0x7ff, &x));
    P("xsl: isreg=%d size=%llu\n", S_ISREG(x.mode), (unsigned long long)x.size);
    unlink("xsl");
    int fd = open("x", O_RDONLY);
    R("statx empty path", syscall(SYS_statx, fd, "", AT_EMPTY_PATH, 0x7ff, &x));
    P("fd: size=%llu\n", (unsigned long long)x.size);
    R("statx empty no flag", syscall(SYS_statx, fd, "", 0, 0x7ff, &x));
    R("statx bad flags", syscall(SYS_statx, AT_FDCWD, "x", 0x1, 0x7ff, &x));
    R("statx sync both", syscall(SYS_statx, AT_FDCWD, "x", 0x6000, 0x7ff, &x));
    R("statx sync force", syscall(SYS_statx, AT_FDCWD, "x", 0x2000, 0x7ff, &x));
    R("statx reserved mask", syscall(SYS_statx, AT_FDCWD, "x", 0, 0x80000000u, &x));
    R("statx missing", syscall(SYS_statx, AT_FDCWD, "nope", 0, 0x7ff, &x));
    R("statx efault", syscall(SYS_statx, AT_FDCWD, "x", 0, 0x7ff, (void *)8));
    R("statx badfd", syscall(SYS_statx, 99, "x", 0, 0x7ff, &x));
    R("statx notdir dirfd", syscall(SYS_statx, fd, "x", 0, 0x7ff, &x));
    close(fd);
    R("statx dir", syscall(SYS_statx, AT_FDCWD, ".", 0, 0x7ff, &x));
    P("dir: isdir=%d\n", S_ISDIR(x.mode));
    R("statx /dev/null", syscall(SYS_statx, AT_FDCWD, "/dev/null", 0, 0x7ff, &x));
    P("/dev/null: chr=%d rdev=%u:%u\n", S_ISCHR(x.mode), x.rdev_major, x.rdev_minor);
    /* statfs */
    unsigned long sf[15], sf2[15];
    R("statfs", syscall(SYS_statfs, ".", sf));
    fd = open("x", O_RDONLY);
    R("fstatfs", syscall(SYS_fstatfs, fd, sf2));
    P("statfs same: type=%d bsize=%d namelen=%d frsize=%d\n", sf[0] == sf2[0], sf[1] == sf2[1],
      sf[8] == sf2[8], sf[9] == sf2[9]);
    P("statfs: bsize=%lu namelen=%lu valid=%d rdonly=%lu\n", sf[1], sf[8], !!(sf[10] & 0x20),
      sf[10] & 1);
    close(fd);
    fd = open("x", O_PATH);
    R("fstatfs O_PATH", syscall(SYS_fstatfs, fd, sf2));
    close(fd);
    R("statfs /proc", syscall(SYS_statfs, "/proc", sf));
    P("/proc type: %lx\n", sf[0]);
    R("statfs missing", syscall(SYS_statfs, "nope", sf));
    R("statfs efault", syscall(SYS_statfs, ".", (void *)8));
    R("fstatfs badfd", syscall(SYS_fstatfs, 99, sf));
    unlink("x");
}

static void fdops(void) {
    int fds[6];
    for (int i = 0; i < 6; i++) fds[i] = open("a", O_RDONLY);
    P("fds consecutive: %d\n", fds[5] - fds[0] == 5);
    R("close_range", syscall(SYS_close_range, fds[1], fds[2], 0));
    P("closed: %d %d open: %d\n", fcntl(fds[1], F_GETFD) < 0, fcntl(fds[2], F_GETFD) < 0,
      fcntl(fds[3], F_GETFD) >= 0);
    R("close_range cloexec", syscall(SYS_close_range, fds[3], fds[4], 4));
    P("cloexec: %d %d %d\n", fcntl(fds[3], F_GETFD), fcntl(fds[4], F_GETFD),
      fcntl(fds[5], F_GETFD));
    R("close_range unshare", syscall(SYS_close_range, fds[5], fds[5], 2));
    P("closed: %d\n", fcntl(fds[5], F_GETFD) < 0);
    R("close_range bad flags", syscall(SYS_close_range, fds[0], fds[0], 1));
    R("close_range first>last", syscall(SYS_close_range, 10, 5, 0));
    R("close_range to max", syscall(SYS_close_range, fds[3], ~0u, 0));
    P("closed: %d %d stdout open: %d\n", fcntl(fds[3], F_GETFD) < 0,
      fcntl(fds[0], F_GETFD) < 0, fcntl(1, F_GETFD) >= 0);

    /* preadv / pwritev / *2 */
    int fd = open("v", O_RDWR | O_CREAT | O_TRUNC, 0644);
    struct iovec w[3] = {{"hello ", 6}, {"vector ", 7}, {"world", 5}};
    R("pwritev", pwritev(fd, w, 3, 2));
    P("pos after pwritev: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    show("v", "v");
    char b1[4], b2[16];
    memset(b2, 0, sizeof b2);
    struct iovec r[2] = {{b1, 4}, {b2, 15}};
    R("preadv", preadv(fd, r, 2, 4));
    P("preadv: [%.4s][%s]\n", b1, b2);
    R("preadv eof", preadv(fd, r, 2, 1000));
    R("preadv neg", preadv(fd, r, 2, -5));
    R("preadv zero iov", preadv(fd, r, 0, 0));
    R("preadv badfd", preadv(99, r, 2, 0));
    R("preadv toomany", preadv(fd, r, 1025, 0));
    R("preadv efault", preadv(fd, (struct iovec *)8, 1, 0));
    int pp[2];
    pipe(pp);
    R("preadv pipe", preadv(pp[0], r, 2, 0));
    R("pwritev pipe", pwritev(pp[1], w, 1, 0));
    close(pp[0]); close(pp[1]);
    int ro = open("v", O_RDONLY);
    R("pwritev rdonly", pwritev(ro, w, 1, 0));
    close(ro);
    lseek(fd, 0, SEEK_SET);
    memset(b2, 0, sizeof b2);
    R("preadv2 cur", syscall(SYS_preadv2, fd, r, 2, -1l, 0, 0));
    P("preadv2: [%.4s][%s] pos=%ld\n", b1, b2, (long)lseek(fd, 0, SEEK_CUR));
    R("preadv2 at", syscall(SYS_preadv2, fd, r, 1, 8l, 0, 0));
    P("preadv2: [%.4s] pos=%ld\n", b1, (long)lseek(fd, 0, SEEK_CUR));
    R("preadv2 hipri", syscall(SYS_preadv2, fd, r, 1, 0l, 0, 1));
    R("preadv2 bad flag", syscall(SYS_preadv2, fd, r, 1, 0l, 0, 0x10000));
    R("preadv2 neg", syscall(SYS_preadv2, fd, r, 1, -2l, 0, 0));
    struct iovec w2[1] = {{"XY", 2}};
    R("pwritev2 at", syscall(SYS_pwritev2, fd, w2, 1, 0l, 0, 0));
    lseek(fd, 3, SEEK_SET);
    R("pwritev2 cur", syscall(SYS_pwritev2, fd, w2, 1, -1l, 0, 0));
    P("pos: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    R("pwritev2 append", syscall(SYS_pwritev2, fd, w2, 1, 0l, 0, 0x10));
    R("pwritev2 dsync", syscall(SYS_pwritev2, fd, w2, 1, 6l, 0, 2));
    R("pwritev2 bad flag", syscall(SYS_pwritev2, fd, w2, 1, 0l, 0, 0x10000));
    show("v", "v");
    close(fd);

    /* copy_file_range */
    put("src", "0123456789abcdef");
    int in = open("src", O_RDONLY);
    int out = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
    R("copy_file_range", syscall(SYS_copy_file_range, in, 0, out, 0, 6, 0));
    P("positions: in=%ld out=%ld\n", (long)lseek(in, 0, SEEK_CUR), (long)lseek(out, 0, SEEK_CUR));
    loff_t oi = 10, oo = 20;
    R("copy_file_range offsets", syscall(SYS_copy_file_range, in, &oi, out, &oo, 100, 0));
    P("offsets: in=%lld out=%lld pos in=%ld out=%ld\n", (long long)oi, (long long)oo,
      (long)lseek(in, 0, SEEK_CUR), (long)lseek(out, 0, SEEK_CUR));
    show("dst", "dst");
    oi = 100;
    R("copy_file_range past eof", syscall(SYS_copy_file_range, in, &oi, out, 0, 10, 0));
    R("copy_file_range flags", syscall(SYS_copy_file_range, in, 0, out, 0, 1, 1));
    R("copy_file_range badfd", syscall(SYS_copy_file_range, 99, 0, out, 0, 1, 0));
    R("copy_file_range rdonly out", syscall(SYS_copy_file_range, in, 0, in, 0, 1, 0));
    R("copy_file_range wronly in", syscall(SYS_copy_file_range, out, 0, out, 0, 1, 0));
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    R("copy_file_range dir", syscall(SYS_copy_file_range, dfd, 0, out, 0, 1, 0));
    close(dfd);
    pipe(pp);
    R("copy_file_range pipe", syscall(SYS_copy_file_range, in, 0, pp[1], 0, 1, 0));
    close(pp[0]); close(pp[1]);
    int rw = open("src", O_RDWR);
    oi = 0; oo = 4;
    R("copy_file_range overlap", syscall(SYS_copy_file_range, rw, &oi, rw, &oo, 8, 0));
    oi = 0; oo = 8;
    R("copy_file_range same file", syscall(SYS_copy_file_range, rw, &oi, rw, &oo, 8, 0));
    show("src", "src");
    oi = -1;
    R("copy_file_range neg off", syscall(SYS_copy_file_range, rw, &oi, out, 0, 1, 0));
    R("copy_file_range efault", syscall(SYS_copy_file_range, in, (void *)8, out, 0, 1, 0));
    int app = open("dst", O_WRONLY | O_APPEND);
    R("copy_file_range append", syscall(SYS_copy_file_range, in, 0, app, 0, 1, 0));
    close(app); close(rw); close(in); close(out);
    /* syncfs / sync */
    fd = open("src", O_RDONLY);
    R("syncfs", syncfs(fd));
    R("syncfs badfd", syncfs(99));
    close(fd);
    sync();
    P("sync: done\n");
    unlink("src"); unlink("dst"); unlink("v");
}

/* The rules for a caller that is not root. */
static void nonroot(void) {
    put("own", "o");
    chown("own", 1000, 1000);
    put("rootf", "r");
    chmod("rootf", 0644);
    put("grp", "g");
    chown("grp", 1000, 0);
    put("ro", "r");
    chown("ro", 0, 0);
    chmod("ro", 0444);
    put("rw", "w");
    chmod("rw", 0666);
    put("sgid", "s");
    chown("sgid", 1000, 1000);
    chmod("sgid", 02755);
    put("suid", "s");
    chown("suid", 1000, 1000);
    chmod("suid", 04755);
    put("mand", "m");
    chown("mand", 1000, 0);
    chmod("mand", 02644);
    chmod(".", 0777);      /* the VFS has no directory permissions: keep them out of it */
    pid_t pid = fork();
    if (pid == 0) {
        gid_t g[1] = {1000};
        if (setgroups(1, g) < 0 || setgid(1000) < 0 || setuid(1000) < 0) {
            P("drop failed\n");
            _exit(1);
        }
        R("nr chmod other's", chmod("rootf", 0600));
        R("nr chmod own", chmod("own", 0640));
        P("own mode: %o\n", mode_of("own"));
        R("nr chmod sgid other group", chmod("grp", 02755));
        P("grp mode: %o\n", mode_of("grp"));
        R("nr chmod sgid own group", chmod("own", 02750));
        P("own mode: %o\n", mode_of("own"));
        R("nr chown to other uid", chown("own", 0, -1));
        R("nr chown to self", chown("own", 1000, -1));
        R("nr chgrp member", chown("own", -1, 1000));
        R("nr chgrp non-member", chown("own", -1, 2000));
        R("nr chgrp to current", chown("grp", -1, 0));
        R("nr chown other's", chown("rootf", -1, 1000));
        R("nr chown other's noop", chown("rootf", -1, -1));
        R("nr chown sgid file", chown("sgid", -1, 1000));
        P("sgid mode: %o\n", mode_of("sgid"));
        R("nr chown suid file", chown("suid", 1000, 1000));
        P("suid mode: %o\n", mode_of("suid"));
        R("nr chown mandlock file", chown("mand", -1, -1));
        P("mand mode: %o\n", mode_of("mand"));
        struct timespec ts[2] = {{100, 0}, {200, 0}};
        struct timespec nw[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
        struct timespec no[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
        R("nr utimensat set other's", utimensat(AT_FDCWD, "rw", ts, 0));
        R("nr utimensat now writable", utimensat(AT_FDCWD, "rw", NULL, 0));
        R("nr utimensat NOW,NOW writable", utimensat(AT_FDCWD, "rw", nw, 0));
        R("nr utimensat NOW,OMIT writable", utimensat(AT_FDCWD, "rw", no, 0));
        R("nr utimensat now readonly", utimensat(AT_FDCWD, "ro", NULL, 0));
        R("nr utimensat set own", utimensat(AT_FDCWD, "own", ts, 0));
        R("nr truncate readonly", truncate("ro", 0));
        R("nr truncate writable", truncate("rw", 0));
        R("nr mknod chr", mknodat(AT_FDCWD, "nchr", S_IFCHR | 0600, makedev(1, 3)));
        R("nr mknod chr exists", mknodat(AT_FDCWD, "own", S_IFCHR | 0600, makedev(1, 3)));
        R("nr mknod chr noparent", mknodat(AT_FDCWD, "no/x", S_IFCHR | 0600, makedev(1, 3)));
        R("nr link other's readonly", link("ro", "rolink"));
        R("nr link other's rw", link("rw", "rwlink"));
        R("nr link own", link("own", "ownlink"));
        R("nr chroot", chroot("."));
        R("nr chroot missing", chroot("nope"));
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    chmod(".", 0755);
    P("child status: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    struct stat st;
    stat("rw", &st);
    P("rw size: %lld\n", (long long)st.st_size);
    P("rwlink exists: %d ownlink exists: %d\n", access("rwlink", F_OK) == 0,
      access("ownlink", F_OK) == 0);
    const char *names[] = {"own", "rootf", "grp", "ro", "rw", "sgid", "suid", "mand", "rwlink",
                           "ownlink", "rolink", "nchr"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) unlink(names[i]);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        P("usage: fs_meta DIR\n");
        return 2;
    }
    if (chdir(argv[1]) < 0) {
        P("chdir failed\n");
        return 1;
    }
    chmod(".", 0755);
    umask(022);
    char tmpdir[] = "/tmp/fs_metaXXXXXX";
    if (!mkdtemp(tmpdir)) {
        P("mkdtemp failed\n");
        return 1;
    }
    links();
    nodes(tmpdir);
    modes();
    times();
    sizes();
    statxs();
    fdops();
    nonroot();
    char p[300];
    const char *n[] = {"chr", "blk", "sock"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, n[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    unlink("a"); unlink("m"); unlink("t"); unlink("s");
    P("done\n");
    return 0;
}
