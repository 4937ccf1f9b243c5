/* Hostile: kernel objects that cost no address space (eventfds, epoll
 * instances, pipes) opened until the kernel refuses; the open-files limit
 * must bound them. Prints "objects N errno E". */
#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

int main(void)
{
    int n = 0, e = 0;
    for (;;) {
        int fd = n % 2 ? eventfd(0, 0) : epoll_create1(0);
        if (fd < 0) {
            e = errno;
            break;
        }
        n++;
    }
    printf("objects %d errno %d\n", n, e);
    return 0;
}
