/* Waits in pause() for SIGINT, which a handler catches: Ctrl+C from the host reaches guest handlers. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
static void h(int s) { (void)s; write(1, "caught\n", 7); }
int main(void) { signal(SIGINT, h); puts("waiting"); fflush(stdout); pause(); puts("after pause"); return 5; }
