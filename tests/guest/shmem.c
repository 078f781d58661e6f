/* MAP_SHARED anonymous memory is shared with a forked child (touched and
 * untouched pages); MAP_PRIVATE memory is not. */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    volatile int *sh = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    volatile int *pr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    sh[0] = 1;                    /* touched before fork */
    pr[0] = 1;
    pid_t p = fork();
    if (p == 0) {
        sh[0] = 2; sh[1024] = 3;  /* sh[1024]: a page untouched before fork */
        pr[0] = 9;
        _exit(0);
    }
    waitpid(p, NULL, 0);
    printf("shared=%d %d private=%d\n", sh[0], sh[1024], pr[0]);
    return 0;
}
