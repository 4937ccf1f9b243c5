/* Hostile: tries to leave a marker file outside its work directory and in
 * the read-only /box of a run; prints "PATH ok" or "PATH ERR errno". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    static const char *paths[] = {
        "/mg_hostile_marker", "/usr/mg_hostile_marker",
        "/usr/bin/mg_hostile_marker", "/etc/mg_hostile_marker",
        "/box/mg_hostile_marker", "mg_hostile_marker",
        "../mg_hostile_marker", "/dev/mg_hostile_marker",
        "/tmp/mg_hostile_marker",
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        int fd = open(paths[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            printf("%s ERR %d\n", paths[i], errno);
            continue;
        }
        ssize_t w = write(fd, "pwned\n", 6);
        close(fd);
        printf("%s %s\n", paths[i], w == 6 ? "ok" : "short");
    }
    /* Overwriting an existing host file is the worse case. */
    int fd = open("/usr/bin/gcc", O_WRONLY | O_APPEND);
    printf("/usr/bin/gcc %s\n", fd < 0 ? "ERR" : "ok");
    return 0;
}
