/* Hostile: writes 1 MiB chunks into files under /tmp, /box and the working
 * directory until each refuses, then prints how much each accepted:
 *   DIR bytes=N files=M errno=E
 * SIGXFSZ is ignored so the file size limit shows up as EFBIG, and the
 * program moves on to a new file. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char chunk[1 << 20];

static void fill(const char *dir)
{
    unsigned long long bytes = 0;
    int files = 0, err = 0;
    for (int i = 0; i < 4096 && !err; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/fill%04d", dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            err = errno;
            break;
        }
        files++;
        for (;;) {
            ssize_t w = write(fd, chunk, sizeof chunk);
            if (w > 0) {
                bytes += (unsigned long long)w;
                continue;
            }
            if (w < 0 && errno != EFBIG)
                err = errno;
            else if (w == 0)
                err = ENOSPC;
            break;
        }
        close(fd);
    }
    printf("%s bytes=%llu files=%d errno=%d\n", dir, bytes, files, err);
    fflush(stdout);
}

int main(void)
{
    signal(SIGXFSZ, SIG_IGN);
    memset(chunk, 'D', sizeof chunk);
    fill("/tmp");
    fill("/box");
    fill(".");
    return 0;
}
