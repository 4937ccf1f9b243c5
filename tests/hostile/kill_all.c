/* Hostile: SIGKILL to every process it may signal. */
#include <signal.h>
#include <stdio.h>

int main(void)
{
    int rc = kill(-1, SIGKILL);
    printf("kill(-1) = %d\n", rc);
    return 0;
}
