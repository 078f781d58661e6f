/* Interval timers, CPU accounting, credentials, sessions and groups. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int alarms, vtalarms;
static void on_alrm(int s) { (void)s; alarms++; }
static void on_vt(int s) { (void)s; vtalarms++; }

int main(void) {
    signal(SIGALRM, on_alrm);
    struct itimerval it = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    while (alarms < 3) pause();
    struct itimerval off = {{0, 0}, {0, 0}}, old;
    setitimer(ITIMER_REAL, &off, &old);
    printf("itimer real: alarms>=3=%d interval_us=%ld\n", alarms >= 3, (long)old.it_interval.tv_usec);
    printf("alarm(0) returns %u\n", alarm(0));

    signal(SIGVTALRM, on_vt);
    struct itimerval vt = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_VIRTUAL, &vt, NULL);
    volatile unsigned long spin = 0;
    while (!vtalarms) spin++;
    printf("itimer virtual fired=%d\n", vtalarms);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("rusage utime>=20ms=%d\n", ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec >= 20000);
    struct tms tm;
    printf("times ok=%d\n", times(&tm) != (clock_t)-1);

    printf("pid==pgid==sid: %d\n", getpid() == getpgid(0) && getpgid(0) == getsid(0));
    errno = 0;
    printf("setsid as leader: %d errno=%d\n", (int)setsid(), errno);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        pid_t s = setsid();
        printf("child setsid==pid: %d sid=pgid=%d\n", s == getpid(), getsid(0) == getpgid(0));
        if (setgroups(0, NULL) != 0) _exit(2);
        if (setgid(1000) != 0 || setuid(1000) != 0) _exit(3);
        printf("dropped: uid=%d euid=%d gid=%d\n", (int)getuid(), (int)geteuid(), (int)getgid());
        errno = 0;
        printf("regain root: %d errno=%d\n", setuid(0), errno);
        errno = 0;
        printf("setgroups unprivileged: %d errno=%d\n", setgroups(0, NULL), errno);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    printf("child status=%d\n", WEXITSTATUS(st));
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("children rusage ok\n");
    return 0;
}
