"""The files of our own that make the extracted packages a system: /etc
(accounts, names, init configuration, the banner) and the mount points.
Debian's maintainer scripts never run, so what they would have made is
made here."""

BANNER = r"""
    _    _
   / \  | | ___   _ _ __ ___   __ _
  / _ \ | |/ / | | | '_ ` _ \ / _` |
 / ___ \|   <| |_| | | | | | | (_| |
/_/   \_\_|\_\\__,_|_| |_| |_|\__,_|   悪魔

A Linux-compatible AArch64 kernel in Python, with a Debian arm64 userland.
Try: ls /bin, ps, free, df -h, tcc -run, sqlite3, git, vi.  `poweroff` ends the session.

"""

# (path, mode, uid, gid, content)
FILES = [
    ("etc/passwd", 0o644, 0, 0,
     "root:x:0:0:root:/root:/bin/sh\n"
     "user:x:1000:1000:Akuma user,,,:/home/user:/bin/sh\n"
     "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"),
    ("etc/group", 0o644, 0, 0,
     "root:x:0:\ntty:x:5:\ndisk:x:6:\nwheel:x:10:root\nshadow:x:42:\n"
     "users:x:100:user\nuser:x:1000:\nnogroup:x:65534:\n"),
    # root logs in on the console without a password; `user` has none set (locked).
    ("etc/shadow", 0o640, 0, 42,
     "root::19000:0:99999:7:::\nuser:!:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n"),
    ("etc/gshadow", 0o640, 0, 42, "root:*::\nuser:!::\n"),
    ("etc/hostname", 0o644, 0, 0, "akuma\n"),
    ("etc/hosts", 0o644, 0, 0,
     "127.0.0.1\tlocalhost\n127.0.1.1\takuma\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
    ("etc/resolv.conf", 0o644, 0, 0, "nameserver 10.0.2.3\n"),
    ("etc/nsswitch.conf", 0o644, 0, 0,
     "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
     "networks: files\nprotocols: files\nservices: files\n"),
    ("etc/shells", 0o644, 0, 0, "/bin/sh\n/bin/dash\n/bin/ash\n/usr/bin/sh\n"),
    ("etc/fstab", 0o644, 0, 0,
     "# Mounted by the kernel at boot (there is no mount -a):\n"
     "/dev/root  /     ext2      rw  0 1\n"
     "proc       /proc proc      rw  0 0\n"
     "devtmpfs   /dev  devtmpfs  rw  0 0\n"
     "tmpfs      /tmp  tmpfs     rw  0 0\n"),
    ("etc/profile", 0o644, 0, 0,
     "# /etc/profile: read by login shells.\n"
     "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
     "# dash expands parameters (not \\h or \\w) in prompts: $PWD follows cd.\n"
     "if [ \"$(id -u)\" -eq 0 ]; then PS1=\"$(hostname):\\$PWD# \"; "
     "else PS1=\"$(id -un)@$(hostname):\\$PWD\\$ \"; fi\n"
     "export PS1\n"
     "umask 022\n"
     "case $- in *i*) [ -r /etc/motd ] && cat /etc/motd ;; esac\n"),
    ("etc/motd", 0o644, 0, 0, BANNER.lstrip("\n")),
    ("etc/issue", 0o644, 0, 0, "Akuma \\n \\l\n\n"),
    ("etc/os-release", 0o644, 0, 0,
     'PRETTY_NAME="Akuma (Debian 12 arm64 userland)"\nNAME="Akuma"\nID=akuma\n'
     'ID_LIKE=debian\nVERSION_ID="0.1"\nVERSION="0.1"\n'
     'HOME_URL="https://github.com/netoneko/akuma"\n'),
    # busybox init: rcS once, then the console shell; poweroff/reboot/halt
    # signal init, which runs the shutdown actions and calls reboot(2).
    ("etc/inittab", 0o644, 0, 0,
     "::sysinit:/etc/init.d/rcS\n"
     "::once:-/etc/init.d/console\n"     # "-": init makes the console its controlling tty
     "::ctrlaltdel:/sbin/reboot\n"
     "::shutdown:/bin/sync\n"),
    ("etc/init.d/rcS", 0o755, 0, 0,
     "#!/bin/sh\n"
     "# Run once by init at boot.  The kernel has already mounted the image\n"
     "# as /, proc at /proc, devfs at /dev and tmpfs at /tmp.\n"
     "hostname -F /etc/hostname 2>/dev/null\n"
     "exit 0\n"),
    ("etc/init.d/console", 0o755, 0, 0,
     "#!/bin/sh\n"
     "# The console's login shell.  When it ends (exit, Ctrl+D) the machine\n"
     "# powers off, as leaving a container's shell ends the container.\n"
     "export HOME=/root USER=root LOGNAME=root SHELL=/bin/sh\n"
     "cd /root\n"
     "/bin/sh -l\n"
     "exec /sbin/poweroff\n"),
    ("root/.profile", 0o644, 0, 0, ""),
    ("home/user/.profile", 0o644, 1000, 1000, ""),
    # git refuses to commit without an identity; give each account one.
    ("root/.gitconfig", 0o644, 0, 0, "[user]\n\tname = root\n\temail = root@akuma\n"),
    ("home/user/.gitconfig", 0o644, 1000, 1000,
     "[user]\n\tname = user\n\temail = user@akuma\n"),
]

# (path, mode, uid, gid)
DIRS = [
    ("root", 0o700, 0, 0), ("home", 0o755, 0, 0), ("home/user", 0o755, 1000, 1000),
    ("tmp", 0o1777, 0, 0), ("proc", 0o555, 0, 0), ("dev", 0o755, 0, 0),
    ("sys", 0o555, 0, 0), ("run", 0o755, 0, 0), ("mnt", 0o755, 0, 0),
    ("var/tmp", 0o1777, 0, 0), ("var/log", 0o755, 0, 0), ("usr/local/bin", 0o755, 0, 0),
    ("etc/init.d", 0o755, 0, 0), ("etc/ssl/certs", 0o755, 0, 0),
]


def install(writer):
    for path, mode, uid, gid in DIRS:
        writer.mkdir(path, mode, uid, gid)
    for path, mode, uid, gid, content in FILES:
        writer.write(path, content.encode(), mode, uid, gid)
