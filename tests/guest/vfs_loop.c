/* Loop devices: /dev/loop-control and /dev/loopN ioctls, mount(2) of a
 * bound device, and the errno of every refusal, printed one line each.
 * argv[1]: an ext2 image file; argv[2]: an empty directory.
 * The expected lines are Linux's answers (tests/test_vfs_loop.py). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *en(int e) {
    switch (e) {
    case 0: return "OK"; case ENXIO: return "ENXIO"; case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST"; case ENODEV: return "ENODEV"; case EBADF: return "EBADF";
    case EINVAL: return "EINVAL"; case ENOTTY: return "ENOTTY"; case EACCES: return "EACCES";
    case ENOENT: return "ENOENT"; default: return strerror(e);
    }
}

#define R(label, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s: %s\n", label, r_ < 0 ? en(errno) : "OK"); } while (0)

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *img = argv[1], *dir = argv[2];
    char file[512];
    snprintf(file, sizeof file, "%s/hello", dir);
    int ctl = open("/dev/loop-control", O_RDWR);
    printf("open loop-control: %s\n", ctl < 0 ? en(errno) : "OK");
    R("add 5 (exists at boot)", ioctl(ctl, LOOP_CTL_ADD, 5));
    R("add 9", ioctl(ctl, LOOP_CTL_ADD, 9));
    R("add 9 again", ioctl(ctl, LOOP_CTL_ADD, 9));
    struct stat st;
    R("stat loop9", stat("/dev/loop9", &st));
    printf("loop9 is blk 7,9: %d\n", S_ISBLK(st.st_mode) && major(st.st_rdev) == 7 &&
           minor(st.st_rdev) == 9);
    int l9 = open("/dev/loop9", O_RDWR);
    printf("open loop9: %s\n", l9 < 0 ? en(errno) : "OK");
    struct loop_info64 info;
    R("unbound get status", ioctl(l9, LOOP_GET_STATUS64, &info));
    R("unbound clr fd", ioctl(l9, LOOP_CLR_FD, 0));
    memset(&info, 0, sizeof info);
    R("unbound set status", ioctl(l9, LOOP_SET_STATUS64, &info));
    R("mount unbound", mount("/dev/loop9", dir, "ext2", 0, NULL));
    R("set fd bad fd", ioctl(l9, LOOP_SET_FD, 999));
    int ffd = open(img, O_RDWR);
    R("set fd", ioctl(l9, LOOP_SET_FD, ffd));
    R("set fd again", ioctl(l9, LOOP_SET_FD, ffd));
    R("remove bound", ioctl(ctl, LOOP_CTL_REMOVE, 9));
    memset(&info, 0, sizeof info);
    strcpy((char *)info.lo_file_name, "image-name");
    R("set status", ioctl(l9, LOOP_SET_STATUS64, &info));
    memset(&info, 0, sizeof info);
    R("get status", ioctl(l9, LOOP_GET_STATUS64, &info));
    printf("number=%u name=%s offset=%llu\n", info.lo_number, info.lo_file_name,
           (unsigned long long)info.lo_offset);
    struct stat fst;
    fstat(ffd, &fst);
    printf("inode matches: %d\n", info.lo_inode == fst.st_ino);
    unsigned long long size = 0;
    R("BLKGETSIZE64", ioctl(l9, BLKGETSIZE64, &size));
    printf("size matches: %d\n", size == (unsigned long long)fst.st_size);
    unsigned char sb[2];
    printf("magic: %s\n", pread(l9, sb, 2, 1024 + 56) == 2 && sb[0] == 0x53 && sb[1] == 0xEF
           ? "ext2" : "?");
    close(ffd);
    R("mount loop9", mount("/dev/loop9", dir, "ext2", 0, NULL));
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { write(fd, "via loop9\n", 10); close(fd); }
    R("clr fd while mounted", ioctl(l9, LOOP_CLR_FD, 0));
    R("get status after clr", ioctl(l9, LOOP_GET_STATUS64, &info));
    R("umount", umount(dir));
    close(l9);
    l9 = open("/dev/loop9", O_RDWR);
    R("freed by umount", ioctl(l9, LOOP_GET_STATUS64, &info));
    close(l9);
    long n = ioctl(ctl, LOOP_CTL_GET_FREE);
    printf("get free: %ld\n", n);
    R("remove 9", ioctl(ctl, LOOP_CTL_REMOVE, 9));
    R("remove 9 again", ioctl(ctl, LOOP_CTL_REMOVE, 9));
    R("stat loop9 after remove", stat("/dev/loop9", &st));
    /* LOOP_CONFIGURE read-only: a rw mount is refused, ro works */
    struct loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fd = open(img, O_RDONLY);
    cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
    int l0 = open("/dev/loop0", O_RDONLY);
    R("configure ro", ioctl(l0, LOOP_CONFIGURE, &cfg));
    close(cfg.fd);
    memset(&info, 0, sizeof info);
    ioctl(l0, LOOP_GET_STATUS64, &info);
    printf("flags ro|autoclear: %d\n", info.lo_flags == (LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR));
    R("mount ro device rw", mount("/dev/loop0", dir, "ext2", 0, NULL));
    R("mount ro device ro", mount("/dev/loop0", dir, "ext2", MS_RDONLY, NULL));
    fd = open(file, O_RDONLY);
    char buf[32] = {0};
    if (fd >= 0) { read(fd, buf, sizeof buf - 1); close(fd); }
    printf("cat hello: %s", buf);
    R("umount ro", umount(dir));
    R("still bound (open)", ioctl(l0, LOOP_GET_STATUS64, &info));
    close(l0);
    l0 = open("/dev/loop0", O_RDONLY);
    R("autoclear at last close", ioctl(l0, LOOP_GET_STATUS64, &info));
    R("unknown ioctl", ioctl(l0, 0x4CFF, 0));
    R("unknown control ioctl", ioctl(ctl, 0x4CFF, 0));
    close(l0);
    close(ctl);
    return 0;
}
