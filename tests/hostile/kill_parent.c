/* Hostile: SIGKILL to its parent, to process 1 and to its process group. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    pid_t pp = getppid();
    int a = pp > 0 ? kill(pp, SIGKILL) : -2;
    int b = kill(1, SIGKILL);
    printf("kill(ppid %d) = %d, kill(1) = %d\n", (int)pp, a, b);
    return 0;
}
