/* Hostile, with processes allowed: new namespaces through clone3 (whose
 * flags live in memory the filter cannot read) and through clone's flags. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_NEWUSER | CLONE_NEWNS;
    ca.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0)
        _exit(42);                  /* a child in a new user namespace */
    printf("clone3 = %ld errno %d\n", pid, pid < 0 ? errno : 0);
    fflush(stdout);
    pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0)
        _exit(42);
    printf("clone = %ld\n", pid);
    return 0;
}
