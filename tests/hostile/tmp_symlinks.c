/* Hostile: symlink and ".." tricks from the writable /tmp: links to the
 * host's files and to /proc, a hard link across mounts, openat2 without
 * resolve restrictions, and ".." past the root. Prints "PATH ok" when it
 * read something, "PATH ERR errno" when refused. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void try_read(const char *path, int fd)
{
    char buf[64];
    if (fd < 0 || read(fd, buf, sizeof buf) <= 0) {
        printf("%s ERR %d\n", path, errno);
    } else {
        printf("%s ok\n", path);
    }
    if (fd >= 0)
        close(fd);
}

int main(void)
{
    static const char *targets[] = { "/../../../../etc/passwd", "/proc/1/root/etc/passwd",
                                     "../../../../../etc/shadow", "/tmp/../../etc/passwd" };
    char name[32];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "/tmp/l%d", i);
        symlink(targets[i], name);
        try_read(name, open(name, O_RDONLY));
    }
    int rc = link("/usr/bin/gcc", "/tmp/gcc");
    printf("/tmp/gcc link %d %d\n", rc, rc ? errno : 0);
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY;
    try_read("openat2 /tmp/l0", (int)syscall(SYS_openat2, AT_FDCWD, "/tmp/l0", &how, sizeof how));
    try_read("/box/../../etc/passwd", open("/box/../../etc/passwd", O_RDONLY));
    return 0;
}
