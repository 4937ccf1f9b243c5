/* Hostile: remounts the root read-write and mounts a fresh proc. */
#include <stdio.h>
#include <sys/mount.h>

int main(void)
{
    int a = mount(NULL, "/", NULL, MS_REMOUNT, NULL);
    int b = mount("proc", "/tmp", "proc", 0, NULL);
    printf("mount = %d %d\n", a, b);
    return 0;
}
