/* exitcode N          -> exit(N)
 * exitcode N signal   -> kill(getpid(), N) (falls back to exit(127) if it survives) */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 0;
    if (argc > 2 && strcmp(argv[2], "signal") == 0) {
        kill(getpid(), n);
        return 127;
    }
    return n;
}
