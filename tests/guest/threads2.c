/* pthreads: rwlock, barrier, detached threads, cancellation, and
 * SA_RESTART on a blocking pipe read interrupted by a signal. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t bar;
static long shared_val, reads_ok;
static volatile int detached_done;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *reader(void *a) {
    (void)a;
    for (int i = 0; i < 2000; i++) {
        pthread_rwlock_rdlock(&rw);
        long v = shared_val;
        if (v % 2 == 0) { pthread_mutex_lock(&mu); reads_ok++; pthread_mutex_unlock(&mu); }
        pthread_rwlock_unlock(&rw);
    }
    pthread_barrier_wait(&bar);
    return NULL;
}
static void *writer(void *a) {
    (void)a;
    for (int i = 0; i < 2000; i++) {
        pthread_rwlock_wrlock(&rw);
        shared_val++;
        shared_val++;
        pthread_rwlock_unlock(&rw);
    }
    pthread_barrier_wait(&bar);
    return NULL;
}
static void *detached(void *a) { (void)a; detached_done = 1; return NULL; }
static void *sleeper(void *a) { (void)a; for (;;) { sleep(1); } return NULL; }
static void on_usr1(int s) { (void)s; }

int main(void) {
    pthread_barrier_init(&bar, NULL, 4);
    pthread_t t[3];
    pthread_create(&t[0], NULL, reader, NULL);
    pthread_create(&t[1], NULL, reader, NULL);
    pthread_create(&t[2], NULL, writer, NULL);
    pthread_barrier_wait(&bar);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    printf("rwlock: value=%ld reads_ok=%ld\n", shared_val, reads_ok);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t d;
    pthread_create(&d, &attr, detached, NULL);
    while (!detached_done) usleep(1000);
    printf("detached ran=%d\n", detached_done);

    pthread_t s;
    pthread_create(&s, NULL, sleeper, NULL);
    usleep(10000);
    pthread_cancel(s);
    void *res;
    pthread_join(s, &res);
    printf("cancelled=%d\n", res == PTHREAD_CANCELED);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    int fds[2];
    pipe(fds);
    pid_t self = getpid();
    pid_t p = fork();
    if (p == 0) {
        usleep(30000); kill(self, SIGUSR1);
        usleep(30000); write(fds[1], "z", 1);
        _exit(0);
    }
    char c = 0;
    ssize_t r = read(fds[0], &c, 1);
    printf("restarted read: ret=%zd char=%c\n", r, c);
    waitpid(p, NULL, 0);
    return 0;
}
