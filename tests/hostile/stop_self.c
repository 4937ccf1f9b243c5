/* Hostile: stops itself with SIGSTOP (nothing in the box can continue it):
 * the run must still end at the wall clock, not hang the supervisor. */
#include <signal.h>
#include <stdio.h>

int main(void)
{
    puts("stopping");
    fflush(stdout);
    raise(SIGSTOP);
    puts("continued");
    return 0;
}
