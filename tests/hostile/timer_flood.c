/* Hostile: kernel memory outside RLIMIT_AS. Every POSIX timer is a kernel
 * object with a preallocated signal; nothing but RLIMIT_SIGPENDING, which
 * the box inherits from the server, bounds how many a process may hold.
 * Creates timers until the kernel refuses or LIMIT is reached, then takes
 * all the heap RLIMIT_AS still allows; prints
 *   timers N errno E heap H MiB
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIMIT 400000
#define MIB (1024UL * 1024UL)

int main(void)
{
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    int n = 0, e = 0;
    for (; n < LIMIT; n++) {
        timer_t t;
        if (timer_create(CLOCK_MONOTONIC, &ev, &t)) {
            e = errno;
            break;
        }
    }
    unsigned long heap = 0;
    for (;;) {
        char *p = malloc(MIB);
        if (!p)
            break;
        memset(p, 'h', MIB);
        heap += MIB;
    }
    printf("timers %d errno %d heap %lu MiB\n", n, e, heap / MIB);
    return 0;
}
