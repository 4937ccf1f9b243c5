/* Hostile: kernel memory outside RLIMIT_AS. Every POSIX timer is a kernel
 * object (and a preallocated signal); nothing but RLIMIT_SIGPENDING, which
 * the box inherits from the server, bounds how many a process may hold.
 * Creates timers until the kernel refuses or LIMIT is reached; prints
 *   timers N errno E
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LIMIT 400000

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
    printf("timers %d errno %d\n", n, e);
    return 0;
}
