/* Hostile: double fork + setsid so a grandchild outlives the run; it closes
 * every descriptor (the box must not wait for pipes to close), sleeps, then
 * tries to leave a marker in /box and /tmp and to keep running. */
#include <fcntl.h>
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
            for (int fd = 0; fd < 1024; fd++)
                close(fd);
            sleep(1);
            static const char *markers[] = { "/box/mg_survivor", "/tmp/mg_survivor" };
            for (int i = 0; i < 2; i++) {
                int fd = open(markers[i], O_WRONLY | O_CREAT, 0644);
                if (fd >= 0)
                    close(fd);
            }
            for (;;)
                pause();
        }
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    puts("parent done");
    return 0;
}
