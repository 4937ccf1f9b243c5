/* Hostile: "no exec after start" through execveat, which the exec-page
 * check on execve does not cover. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    char *args[] = { "/bin/sh", "-c", "echo pwned", NULL }, *env[] = { NULL };
    long rc = syscall(SYS_execveat, AT_FDCWD, "/bin/sh", args, env, 0);
    printf("execveat = %ld\n", rc);
    return 0;
}
