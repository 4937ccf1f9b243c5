/* Hostile: fills the box's memory with what no process's resident set
 * shows (pipe buffers, files in /tmp), so that when the box's memory cgroup
 * runs out the kernel's OOM killer, which picks the largest resident set in
 * the cgroup, picks init: a copy of the supervisor, resident set and all.
 * Without init there is no report, and the run is a sandbox failure rather
 * than a verdict. Prints how much it held if it survives. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    static char buf[65536];
    memset(buf, 'p', sizeof buf);
    unsigned long held = 0;
    signal(SIGXFSZ, SIG_IGN);
    for (int i = 0; i < 28; i++) {
        int p[2];
        if (pipe2(p, O_NONBLOCK))
            break;
        fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
        ssize_t n;
        while ((n = write(p[1], buf, sizeof buf)) > 0)
            held += (unsigned long)n;
    }
    for (int i = 0; i < 64; i++) {
        char name[32];
        snprintf(name, sizeof name, "/tmp/f%d", i);
        int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            break;
        ssize_t n, got = 0;
        while ((n = write(fd, buf, sizeof buf)) > 0)
            got += n;
        close(fd);
        held += (unsigned long)got;
        if (got == 0)
            break;
    }
    printf("held %lu MiB outside any resident set\n", held >> 20);
    fflush(stdout);
    pause();
    return 0;
}
