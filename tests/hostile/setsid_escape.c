/* Hostile: leave the box's session (and with it the scheduling group that
 * a busy box is demoted in) by calling setsid, from the program and from a
 * child that is no process group leader. Prints what each call returned. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    pid_t before = getsid(0);
    pid_t r = setsid();
    int e = errno;
    printf("setsid = %d (%s), session %s\n", (int)r, r < 0 ? strerror(e) : "ok",
           getsid(0) == before ? "kept" : "changed");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        setpgid(0, 0);
        pid_t cr = setsid();
        printf("child setsid = %d, session %s\n", (int)cr, getsid(0) == before ? "kept" : "changed");
        return 0;
    }
    if (c > 0)
        waitpid(c, NULL, 0);
    return 0;
}
