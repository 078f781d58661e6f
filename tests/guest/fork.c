/* fork + wait4: statuses, copy-on-write isolation, WNOHANG, ECHILD. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char big[1 << 20];

int main(void) {
    memset(big, 'P', sizeof big);
    pid_t kids[5];
    for (int i = 0; i < 5; i++) {
        pid_t p = fork();
        if (p == 0) {
            big[i] = 'C';                 /* private to the child */
            if (getppid() <= 0) _exit(99);
            _exit(10 + i);
        }
        kids[i] = p;
    }
    for (int i = 0; i < 5; i++) {
        int st;
        pid_t r = waitpid(kids[i], &st, 0);
        printf("child %d: reaped=%d exited=%d status=%d\n", i, r == kids[i], WIFEXITED(st),
               WEXITSTATUS(st));
    }
    printf("parent memory intact=%d\n", big[0] == 'P' && big[4] == 'P');
    pid_t p = fork();
    if (p == 0) { pause(); _exit(0); }
    int st;
    printf("wnohang=%d\n", waitpid(p, &st, WNOHANG));
    kill(p, SIGTERM);
    waitpid(p, &st, 0);
    printf("killed: signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));
    errno = 0;
    printf("no children: ret=%d errno=%d\n", waitpid(-1, &st, 0), errno);
    /* A child that dies by SIGSEGV reports it (and the core bit). */
    p = fork();
    if (p == 0) { *(volatile int *)0 = 1; _exit(0); }
    waitpid(p, &st, 0);
    printf("segv child: signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));
    /* vfork: the parent waits until the child exits. */
    volatile int shared = 1;
    p = vfork();
    if (p == 0) { shared = 2; _exit(7); }
    waitpid(p, &st, 0);
    printf("vfork: status=%d shared=%d\n", WEXITSTATUS(st), shared);
    return 0;
}
