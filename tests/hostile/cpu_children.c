/* Hostile, with processes allowed: the CPU is burnt by children while the
 * program itself only waits, and each child that hits its own per-process
 * CPU limit is replaced by a fresh one. Only the program's own clock and
 * the children init has already reaped count towards the box's CPU limit
 * while it runs, so the box keeps every core busy until the wall clock. */
#include <sys/wait.h>
#include <unistd.h>

#define BURNERS 4

static void burner(void)
{
    if (fork() == 0)
        for (volatile unsigned long i = 0;; i++)
            ;
}

int main(void)
{
    for (int i = 0; i < BURNERS; i++)
        burner();
    for (;;)
        if (wait(NULL) > 0)
            burner();   /* one died at its RLIMIT_CPU: start another */
}
