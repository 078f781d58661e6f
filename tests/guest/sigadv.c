/* Job control (stop/continue seen by wait), real-time signals queued with
 * values, rt_sigtimedwait, nested handlers, an rt signal storm. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int nested, storm;
static void on_usr2(int s) { (void)s; nested++; }
static void on_usr1(int s) { (void)s; nested += 10; raise(SIGUSR2); nested += 100; }
static void on_rt(int s) { (void)s; storm++; }

int main(void) {
    int st, go[2];
    if (pipe(go)) return 1;
    pid_t p = fork();
    /* The child exits only after the parent has seen it continue. */
    if (p == 0) { char c; raise(SIGSTOP); read(go[0], &c, 1); _exit(5); }
    waitpid(p, &st, WUNTRACED);
    printf("stopped=%d sig=%d\n", WIFSTOPPED(st), WSTOPSIG(st));
    kill(p, SIGCONT);
    waitpid(p, &st, WCONTINUED);
    printf("continued=%d\n", WIFCONTINUED(st));
    write(go[1], "x", 1);
    waitpid(p, &st, 0);
    printf("exited=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (int i = 1; i <= 3; i++) {
        union sigval v = {.sival_int = i * 7};
        sigqueue(getpid(), SIGRTMIN, v);
        sigqueue(getpid(), SIGUSR1, v);
    }
    for (int i = 0; i < 4; i++) {
        siginfo_t si;
        int s = sigwaitinfo(&set, &si);
        printf("took sig=%s value=%d code_queue=%d\n", s == SIGRTMIN ? "RTMIN" : "USR1",
               si.si_value.sival_int, si.si_code == SI_QUEUE);
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    errno = 0;
    printf("timed out: %d errno=%d\n", sigtimedwait(&set, NULL, &ts), errno);
    sigprocmask(SIG_UNBLOCK, &set, NULL);

    signal(SIGUSR2, on_usr2);
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    printf("nested=%d\n", nested);

    signal(SIGRTMIN + 1, on_rt);
    sigset_t rt1;
    sigemptyset(&rt1);
    sigaddset(&rt1, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &rt1, NULL);
    for (int i = 0; i < 100; i++) {
        union sigval v = {.sival_int = i};
        sigqueue(getpid(), SIGRTMIN + 1, v);
    }
    sigprocmask(SIG_UNBLOCK, &rt1, NULL);
    printf("storm=%d\n", storm);
    return 0;
}
