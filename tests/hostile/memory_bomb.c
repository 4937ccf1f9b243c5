/* Hostile: allocates and touches 1 MiB blocks until the allocator says no,
 * then reports how far it got (stdout) and fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    unsigned long mib = 0;
    for (;;) {
        char *p = malloc(1 << 20);
        if (!p)
            break;
        memset(p, 0xA5, 1 << 20);
        mib++;
    }
    printf("malloc failed after %lu MiB\n", mib);
    return 1;
}
