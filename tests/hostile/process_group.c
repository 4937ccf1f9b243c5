/* Hostile: the process group and session the program starts in. Signals to
 * a process group (kill(0, ...), kill(-pgid, ...)) reach every member in
 * every PID namespace, so a group or session led from outside the box (the
 * server's) joins the program to processes outside it: same-uid ones (two
 * runs of one box, a colliding box uid) can be killed across the boundary.
 * Prints "pgid P sid S" as seen inside (0: the leader is not in the box). */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("pgid %d sid %d\n", (int)getpgid(0), (int)getsid(0));
    return 0;
}
