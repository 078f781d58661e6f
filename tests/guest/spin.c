/* Prints "spinning", then loops forever with no syscalls (SIGINT/preemption test). */
#include <stdio.h>

int main(void) {
    printf("spinning\n");
    fflush(stdout);
    volatile unsigned long x = 0;
    for (;;)
        x++;
}
