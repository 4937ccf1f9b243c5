/* Hostile: a refused call is reported to the box's init through a seccomp
 * user notification, and a signal that interrupts the waiting caller before
 * init reads the notification withdraws it: the call fails with EINTR and
 * the run goes on as if nothing had been tried. A second thread keeps a
 * signal arriving while the main thread tries socket() again and again;
 * prints "tries N eintr M" if it is still alive at the end. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static pid_t main_tid;

static atomic_int hits;

static void on_usr1(int sig) { (void)sig; atomic_fetch_add(&hits, 1); }

static void *spam(void *arg)
{
    (void)arg;
    pid_t pid = getpid();
    while (!atomic_load(&stop))
        syscall(SYS_tgkill, pid, main_tid, SIGUSR1);
    return NULL;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;        /* no SA_RESTART: interrupted calls fail */
    sigaction(SIGUSR1, &sa, NULL);
    main_tid = (pid_t)syscall(SYS_gettid);
    /* More senders than cores: init, which must read the notification
     * before a signal withdraws it, waits for a CPU. */
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        if (pthread_create(&t[i], NULL, spam, NULL)) {
            puts("no thread");
            return 1;
        }
    /* The signals are flowing (each one is a stop the box's tracer resumes,
     * so a few hundred are plenty; the spammers go on during the calls).
     * On a busy core the tracer resumes them slowly while four spinning
     * threads spend the CPU limit: after half a second of CPU, one handled
     * signal is enough to go on, so that the calls are always tried. */
    struct timespec cpu;
    do
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    while (atomic_load(&hits) < 200 && (atomic_load(&hits) < 1 || cpu.tv_sec * 1000L +
                                        cpu.tv_nsec / 1000000L < 500));
    int tries = 0, eintr = 0;
    for (; tries < 2000; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0) {
            printf("socket succeeded\n");
            close(fd);
            break;
        }
        if (errno == EINTR) {
            eintr++;
            (void)!write(2, "i", 1);   /* progress, kept even if we are killed */
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("tries %d eintr %d\n", tries, eintr);
    return 0;
}
