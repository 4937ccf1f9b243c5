/* Hostile: a new user namespace would hand the program every capability
 * inside it (the usual first step of a kernel exploit). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>

int main(void)
{
    int rc = unshare(CLONE_NEWUSER | CLONE_NEWNS);
    printf("unshare = %d\n", rc);
    return 0;
}
