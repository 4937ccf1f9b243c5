/* expect: uninitialized_read 8|12
 * CWE-908: a branch on an unset heap int whose two sides print the same. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int *flags = malloc(4 * sizeof *flags);
    if (!flags)
        return 1;
    flags[0] = 1;
    if (flags[2] > 0)
        puts("ready");
    else
        puts("ready");
    free(flags);
    return 0;
}
