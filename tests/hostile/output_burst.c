/* Hostile: output past the limit that the supervisor only reads after the
 * program is gone. stdout and stderr are grown to 1 MiB pipes, each gets
 * 640 KiB in a single write (1.25 MiB in all, over a 1 MiB output limit),
 * and the program exits at once: the excess waits in the pipes while the
 * box winds down. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define BURST (640 * 1024)

int main(void)
{
    static char buf[BURST];
    memset(buf, 'o', sizeof buf);
    fcntl(1, F_SETPIPE_SZ, 1 << 20);
    fcntl(2, F_SETPIPE_SZ, 1 << 20);
    (void)!write(1, buf, sizeof buf);
    (void)!write(2, buf, sizeof buf);
    _exit(0);
}
