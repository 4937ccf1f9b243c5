/* expect: invalid_free 10
 * CWE-590: realloc is called on a local array to grow it. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int local[4] = {1, 2, 3, 4};
    int *p = local;
    int *q = realloc(p, 8 * sizeof *q);
    if (q) {
        printf("%d\n", q[0]);
        free(q);
    }
    return 0;
}
