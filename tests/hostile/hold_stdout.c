/* Hostile: a detached grandchild (double fork + setsid) that keeps stdout
 * and stderr open and sleeps, so a supervisor waiting for EOF on its pipes
 * would wait for it; the parent exits at once. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        setsid();
        if (fork() == 0) {
            for (;;)
                pause();
        }
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    puts("parent done");
    return 0;
}
