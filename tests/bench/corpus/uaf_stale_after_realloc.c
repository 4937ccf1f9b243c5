/* expect: use_after_free 19
 * CWE-416: a second pointer into the array is used after realloc moved it. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int *v = malloc(4 * sizeof *v);
    if (!v)
        return 1;
    int *first = &v[0];
    *first = 11;
    int *bigger = realloc(v, 4096 * sizeof *v);
    if (!bigger) {
        free(v);
        return 1;
    }
    v = bigger;
    printf("%d\n", *first);
    free(v);
    return 0;
}
