/* expect: use_after_free 16
 * expect: double_free 17
 * Two errors: a read after free, then the same block freed again. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    long *p = malloc(3 * sizeof *p);
    if (!p)
        return 1;
    p[0] = 1;
    p[1] = 2;
    p[2] = 3;
    free(p);
    printf("%ld\n", p[1]);
    free(p);
    return 0;
}
