/* Hostile: runs a shell command through system(). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int rc = system("echo pwned > /tmp/mg_hostile_marker");
    printf("system returned %d\n", rc);
    return 1;
}
