/* execve: argv/envp reach the new image; a failed exec keeps the old one;
 * close-on-exec fds are closed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv, char **envp) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        printf("child argv:");
        for (int i = 0; i < argc; i++) printf(" [%s]", argv[i]);
        printf("\nchild env: %s\n", envp[0] ? envp[0] : "(none)");
        printf("child fd3=%s fd4=%s\n", fcntl(3, F_GETFD) < 0 ? "closed" : "open",
               fcntl(4, F_GETFD) < 0 ? "closed" : "open");
        return 42;
    }
    int a = open("/dev/null", O_RDONLY);                 /* fd 3, inherited */
    int b = open("/dev/null", O_RDONLY | O_CLOEXEC);     /* fd 4, closed */
    (void)a; (void)b;
    char *bad[] = {"nope", NULL};
    errno = 0;
    int r = execve("/nonexistent/program", bad, NULL);
    printf("failed exec: ret=%d errno=%d\n", r, errno);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        char *args[] = {argv[0], "child", "two words", "", NULL};
        char *env[] = {"AKUMA_EXEC=1", NULL};
        execve(argv[0], args, env);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    printf("exec child status=%d\n", WEXITSTATUS(st));
    return 0;
}
