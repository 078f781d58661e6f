/* Sleeps argv[1] seconds in nanosleep (default 100): Ctrl+C must end it. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    struct timespec ts = {argc > 1 ? atol(argv[1]) : 100, 0};
    puts("sleeping");
    fflush(stdout);
    nanosleep(&ts, NULL);
    puts("woke");
    return 0;
}
