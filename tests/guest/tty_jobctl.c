/* Controlling terminals and job control on a pty: a session leader takes
 * the slave as its terminal; background reads get SIGTTIN (EIO when
 * ignored), background writes with TOSTOP and background tcsetattr get
 * SIGTTOU; ^C ^Z ^\ signal the foreground group; TIOCSWINSZ sends
 * SIGWINCH; a new session has no terminal.  Compared with qemu. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_sig(int sig) { got = sig; }

static void report(const char *what, int st) {
    if (WIFSTOPPED(st)) printf("%s: stopped by %d\n", what, WSTOPSIG(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", what, WTERMSIG(st));
    else printf("%s: exit %d\n", what, WEXITSTATUS(st));
}

/* A child in its own (background) process group running fn; returns pid. */
static pid_t bg(void (*fn)(int), int s) {
    pid_t g = fork();
    if (g == 0) {
        setpgid(0, 0);
        fn(s);
        _exit(0);
    }
    setpgid(g, g);
    return g;
}

static void bg_read(int s) {
    char c;
    int n = read(s, &c, 1);
    printf("bg read=%d c=%c\n", n, n == 1 ? c : '-');
}

static void bg_read_ignored(int s) {
    char c;
    signal(SIGTTIN, SIG_IGN);
    int n = read(s, &c, 1);
    printf("bg read ignoring SIGTTIN=%d errno=%s\n", n, strerror(errno));
}

static void bg_write(int s) {
    int n = write(s, "w", 1);
    printf("bg write=%d\n", n);
}

static void bg_tcsetattr(int s) {
    struct termios t;
    tcgetattr(s, &t);
    int r = tcsetattr(s, TCSANOW, &t);
    printf("bg tcsetattr=%d\n", r);
}

static void fg_wait(int s) {
    (void)s;
    pause();
}

static void drain(int m) {
    char buf[256];
    int fl = fcntl(m, F_GETFL);
    fcntl(m, F_SETFL, fl | O_NONBLOCK);
    usleep(50000);
    while (read(m, buf, sizeof buf) > 0) {}
    fcntl(m, F_SETFL, fl);
}

static void session(int m, const char *name) {
    int st;
    printf("setsid=%d\n", setsid() == getpid());
    printf("no ctty: /dev/tty=%d errno=%s\n", open("/dev/tty", O_RDWR), strerror(errno));
    int s = open(name, O_RDWR);
    printf("ctty: pgrp_is_me=%d sid_is_me=%d\n", tcgetpgrp(s) == getpid(), tcgetsid(s) == getpid());
    int t = open("/dev/tty", O_RDWR);
    printf("/dev/tty ok=%d isatty=%d\n", t >= 0, isatty(t));
    pid_t sid = -1;
    ioctl(t, TIOCGSID, &sid);
    printf("TIOCGSID via /dev/tty=%d\n", sid == getpid());
    printf("TIOCSCTTY again=%d\n", ioctl(s, TIOCSCTTY, 0));

    pid_t g = bg(bg_read, s);
    waitpid(g, &st, WUNTRACED);
    report("bg read", st);
    printf("tcsetpgrp fg=%d\n", tcsetpgrp(s, g));
    write(m, "k\n", 2);
    kill(g, SIGCONT);
    waitpid(g, &st, 0);
    report("bg read resumed", st);
    signal(SIGTTOU, SIG_IGN);
    printf("tcsetpgrp back=%d\n", tcsetpgrp(s, getpid()));
    printf("tcsetpgrp bad=%d errno=%s\n", tcsetpgrp(s, 99999), strerror(errno));
    signal(SIGTTOU, SIG_DFL);
    drain(m);

    g = bg(bg_read_ignored, s);
    waitpid(g, &st, 0);
    report("bg read ignored", st);

    g = bg(bg_write, s);
    waitpid(g, &st, WUNTRACED);
    report("bg write no TOSTOP", st);
    struct termios tio;
    tcgetattr(s, &tio);
    tio.c_lflag |= TOSTOP;
    tcsetattr(s, TCSANOW, &tio);
    g = bg(bg_write, s);
    waitpid(g, &st, WUNTRACED);
    report("bg write TOSTOP", st);
    kill(g, SIGKILL);
    waitpid(g, &st, 0);
    tio.c_lflag &= ~TOSTOP;
    tcsetattr(s, TCSANOW, &tio);

    g = bg(bg_tcsetattr, s);
    waitpid(g, &st, WUNTRACED);
    report("bg tcsetattr", st);
    kill(g, SIGKILL);
    waitpid(g, &st, 0);
    drain(m);

    /* Keyboard signals to the foreground group. */
    const char keys[] = {3, 26, 28};
    for (int i = 0; i < 3; i++) {
        g = bg(fg_wait, s);
        tcsetpgrp(s, g);
        usleep(100000);
        write(m, &keys[i], 1);
        waitpid(g, &st, WUNTRACED);
        char what[32];
        snprintf(what, sizeof what, "key %d", keys[i]);
        report(what, st);
        if (WIFSTOPPED(st)) {
            kill(g, SIGKILL);
            waitpid(g, &st, 0);
        }
        signal(SIGTTOU, SIG_IGN);
        tcsetpgrp(s, getpid());
        signal(SIGTTOU, SIG_DFL);
    }
    char buf[64];
    usleep(100000);
    int n = read(m, buf, sizeof buf);
    printf("echoed %d: %.*s\n", n, n > 0 ? n : 0, buf);

    signal(SIGWINCH, on_sig);
    struct winsize ws = {40, 120, 0, 0};
    ioctl(m, TIOCSWINSZ, &ws);
    usleep(50000);
    printf("SIGWINCH=%d\n", got == SIGWINCH);
    got = 0;
    ioctl(m, TIOCSWINSZ, &ws);
    usleep(50000);
    printf("same size no SIGWINCH=%d\n", got == 0);

    /* A new session has no terminal. */
    pid_t c = fork();
    if (c == 0) {
        setsid();
        printf("new session /dev/tty=%d errno=%s\n", open("/dev/tty", O_RDWR), strerror(errno));
        printf("new session TIOCGPGRP=%d errno=%s\n", ioctl(s, TIOCGPGRP, &n), strerror(errno));
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("TIOCNOTTY non-leader:\n");
    c = fork();
    if (c == 0) {
        printf("  =%d\n", ioctl(s, TIOCNOTTY));
        printf("  /dev/tty after=%d errno=%s\n", open("/dev/tty", O_RDWR), strerror(errno));
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("leader still has it=%d\n", open("/dev/tty", O_RDWR) >= 0);
    exit(0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    unlockpt(m);
    char name[64];
    strcpy(name, ptsname(m));
    pid_t c = fork();
    if (c == 0)
        session(m, name);
    int st;
    waitpid(c, &st, 0);
    report("session", st);
    printf("done\n");
    return 0;
}
