/* Hostile: "no exec after start" circumvented by executing a copy of itself
 * from an anonymous memory file (fexecve). */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    int fd = memfd_create("x", 0);
    if (fd < 0) {
        perror("memfd_create");
        return 1;
    }
    char *args[] = { "/bin/sh", "-c", "echo pwned", NULL };
    fexecve(fd, args, environ);
    perror("fexecve");
    return 1;
}
