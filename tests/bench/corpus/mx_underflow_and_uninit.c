/* expect: uninitialized_read 10|16
 * expect: heap_overflow 15
 * Two errors: a write before the start of a block, and an unset element printed. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 4;
    int *v = malloc(n * sizeof *v);
    if (!v)
        return 1;
    for (int i = n - 1; i > 0; i--)
        v[i] = i * 10;
    v[-1] = 0;
    printf("%d %d\n", v[0], v[3]);
    free(v);
    return 0;
}
