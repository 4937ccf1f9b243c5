/* expect: uninitialized_read 11|19|20
 * CWE-908: the bytes realloc added are read as if they were zero. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int *c = calloc(4, sizeof *c);
    if (!c)
        return 1;
    int *g = realloc(c, 8 * sizeof *c);
    if (!g) {
        free(c);
        return 1;
    }
    c = g;
    int nonzero = 0;
    for (int i = 0; i < 8; i++)
        nonzero += c[i] != 0;
    printf("%d\n", nonzero);
    free(c);
    return 0;
}
