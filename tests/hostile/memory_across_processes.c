/* Hostile: the memory limit is per process (RLIMIT_AS), so a program allowed
 * to fork can hold the limit once per child. Each child touches CHUNK_MIB,
 * reports it on a pipe and holds it until the parent has heard from all of
 * them (or from no one for half a second); the parent prints how much the
 * box held at once:
 *   held N MiB at once in K processes
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 6
#define CHUNK_MIB 40

int main(void)
{
    int up[2], hold[2];
    if (pipe(up) || pipe(hold)) {
        perror("pipe");
        return 1;
    }
    for (int i = 0; i < CHILDREN; i++) {
        pid_t pid = fork();
        if (pid < 0)
            break;
        if (pid == 0) {
            close(up[0]);
            close(hold[1]);
            char *p = malloc((size_t)CHUNK_MIB << 20);
            if (p) {
                memset(p, i + 1, (size_t)CHUNK_MIB << 20);
                char ok = 1;
                if (write(up[1], &ok, 1) != 1)
                    _exit(1);
            }
            char c;
            (void)!read(hold[0], &c, 1); /* EOF when the parent is done */
            _exit(p ? 0 : 1);
        }
    }
    close(up[1]);
    close(hold[0]);
    /* A child the kernel kills for memory never reports: stop listening
     * when no report has come for a while. */
    int held = 0;
    char c;
    struct pollfd pf = {up[0], POLLIN, 0};
    while (held < CHILDREN && poll(&pf, 1, 500) == 1 && read(up[0], &c, 1) == 1)
        held++;
    printf("held %d MiB at once in %d processes\n", held * CHUNK_MIB, held);
    fflush(stdout);
    close(hold[1]);
    while (wait(NULL) > 0)
        ;
    return 0;
}
