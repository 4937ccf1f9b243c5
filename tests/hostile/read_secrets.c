/* Hostile: tries to read host secrets and prints whatever it gets:
 *   == PATH
 *   <contents>   or   ERR <errno>
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void dump(const char *path)
{
    printf("== %s\n", path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("ERR %d %s\n", errno, strerror(errno));
        return;
    }
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)   /* environ is NUL-separated */
            putchar(buf[i] ? buf[i] : '\n');
    }
    putchar('\n');
    close(fd);
}

int main(void)
{
    static const char *paths[] = {
        "/etc/passwd", "/etc/shadow", "/proc/1/environ", "/proc/self/environ",
        "/box/../etc/passwd", "../../etc/passwd", "/root/.bash_history",
        "/usr/../etc/passwd",
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        dump(paths[i]);
    return 0;
}
