/* expect: leak 11
 * expect: heap_overflow 16
 * Two errors: an off-by-one write, then a block that is never freed. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 5;
    int *a = malloc(n * sizeof *a);
    int *b = malloc(n * sizeof *b);
    if (!a || !b)
        return 1;
    for (int i = 0; i < n; i++)
        b[i] = i;
    a[n] = 1;
    printf("%d\n", b[2]);
    free(a);
    return 0;
}
