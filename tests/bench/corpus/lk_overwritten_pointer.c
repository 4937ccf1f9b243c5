/* expect: leak 8
 * CWE-401: the only pointer to a block is overwritten by a second malloc. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int *p = malloc(10 * sizeof *p);
    if (!p)
        return 1;
    p = malloc(20 * sizeof *p);
    if (!p)
        return 1;
    p[0] = 3;
    printf("%d\n", p[0]);
    free(p);
    return 0;
}
