/* Hostile: memory one process holds outside its address space, which is
 * all RLIMIT_AS limits: pipe buffers grown to the per-pipe maximum and
 * filled, plus the private /tmp filled, plus as much heap as malloc gives.
 * Prints what it held at once:
 *   heap H MiB pipes P MiB tmp T MiB total N MiB
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)

int main(void)
{
    static char buf[65536];
    memset(buf, 'p', sizeof buf);
    unsigned long pipes = 0, tmp = 0, heap = 0;

    /* Pipes: 2 descriptors each, leave a few for stdio and /tmp. */
    for (int i = 0; i < 28; i++) {
        int p[2];
        if (pipe2(p, O_NONBLOCK))
            break;
        fcntl(p[1], F_SETPIPE_SZ, (int)MIB);
        ssize_t n;
        while ((n = write(p[1], buf, sizeof buf)) > 0)
            pipes += (unsigned long)n;
    }
    /* /tmp: files up to the file size limit each, until the tmpfs is full. */
    signal(SIGXFSZ, SIG_IGN);
    for (int i = 0; i < 64; i++) {
        char name[32];
        snprintf(name, sizeof name, "/tmp/fill%d", i);
        int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            break;
        ssize_t n, got = 0;
        while ((n = write(fd, buf, sizeof buf)) > 0)
            got += n;
        close(fd);
        tmp += (unsigned long)got;
        if (got == 0)
            break;
    }
    for (;;) {
        char *p = malloc(MIB);
        if (!p)
            break;
        memset(p, 'h', MIB);
        heap += MIB;
    }
    printf("heap %lu MiB pipes %lu MiB tmp %lu MiB total %lu MiB\n", heap / MIB, pipes / MIB,
           tmp / MIB, (heap + pipes + tmp) / MIB);
    return 0;
}
