/* Hostile: a pidfd on init, to take its descriptors (pidfd_getfd: the
 * status pipe, the seccomp listener) or signal it. */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    long pfd = syscall(SYS_pidfd_open, 1, 0);
    long fd = pfd >= 0 ? syscall(SYS_pidfd_getfd, pfd, 3, 0) : -1;
    printf("pidfd_open = %ld, pidfd_getfd = %ld\n", pfd, fd);
    return 0;
}
