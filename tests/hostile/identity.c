/* Hostile: checks who it is, then tries to become root again. Prints
 *   uid=U euid=E gid=G egid=F groups=N
 * before the attempt (the sandbox must run it unprivileged), then
 *   setuid0=R
 * if the call was not refused outright. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    gid_t groups[64];
    int n = getgroups(64, groups);
    printf("uid=%d euid=%d gid=%d egid=%d groups=%d\n", (int)getuid(), (int)geteuid(),
           (int)getgid(), (int)getegid(), n);
    fflush(stdout);
    int su = setuid(0);
    printf("setuid0=%d\n", su);
    return 0;
}
