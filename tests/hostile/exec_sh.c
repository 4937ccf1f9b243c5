/* Hostile: replaces itself with a shell. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    execl("/bin/sh", "sh", "-c", "echo pwned > /tmp/mg_hostile_marker", (char *)NULL);
    puts("exec failed");
    return 1;
}
