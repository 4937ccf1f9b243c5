/* Hostile: /dev/null is the host's own device node, bound into the box
 * read-write so programs can write to it; its inode (timestamps) must not
 * be changeable from inside, and the device must still work. Prints "NAME RC ERRNO" per attempt. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
    /* What every program may do: write to it and read EOF from it. */
    int fd = open("/dev/null", O_RDWR);
    char c = 'x';
    long w = fd >= 0 ? (long)write(fd, &c, 1) : -2, r = fd >= 0 ? (long)read(fd, &c, 1) : -2;
    printf("use %d write %ld read %ld %d\n", fd >= 0 ? 0 : errno, w, r, errno);
    if (fd >= 0)
        close(fd);
    int rc = utimensat(AT_FDCWD, "/dev/null", NULL, 0);
    printf("utimensat %d %d\n", rc, rc ? errno : 0);
    fd = open("/dev/null", O_WRONLY);
    rc = fd >= 0 ? futimens(fd, NULL) : -2;
    printf("futimens %d %d\n", rc, rc ? errno : 0);
    rc = chmod("/dev/null", 0600);
    printf("chmod %d %d\n", rc, rc ? errno : 0);
    return 0;
}
