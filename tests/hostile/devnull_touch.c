/* Hostile: /dev/null is the host's own device node, bound into the box
 * read-write so programs can write to it; its inode (timestamps) must not
 * be changeable from inside. Prints "NAME RC ERRNO" per attempt. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
    int rc = utimensat(AT_FDCWD, "/dev/null", NULL, 0);
    printf("utimensat %d %d\n", rc, rc ? errno : 0);
    int fd = open("/dev/null", O_WRONLY);
    rc = fd >= 0 ? futimens(fd, NULL) : -2;
    printf("futimens %d %d\n", rc, rc ? errno : 0);
    rc = chmod("/dev/null", 0600);
    printf("chmod %d %d\n", rc, rc ? errno : 0);
    return 0;
}
