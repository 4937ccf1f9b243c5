/* Hostile: looks for descriptors the sandbox forgot to close (a seccomp
 * listener, a status pipe, a directory of the host) and prints every open
 * one as "fd N flags F". */
#include <fcntl.h>
#include <stdio.h>

int main(void)
{
    for (int fd = 0; fd < 1024; fd++) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            fprintf(stderr, "fd %d flags %o\n", fd, fl);
    }
    return 0;
}
