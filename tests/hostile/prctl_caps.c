/* Hostile: prctl beyond renaming a thread: raise an ambient capability,
 * drop no-new-privs, become dumpable/traceable. Only PR_SET_NAME and
 * friends are allowed; the first of these must end the run. */
#include <stdio.h>
#include <sys/prctl.h>
#include <linux/capability.h>

int main(void)
{
    int rc = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0);
    printf("ambient %d\n", rc);
    rc = prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    printf("dumpable %d\n", rc);
    return 0;
}
