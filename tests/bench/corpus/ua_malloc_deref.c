/* expect: unchecked_alloc_failure 9|10
 * CWE-690: the result of malloc is written through without a NULL check. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    size_t n = 1000;
    double *w = malloc(n * sizeof *w);
    w[0] = 1.0;
    for (size_t i = 1; i < n; i++)
        w[i] = w[i - 1] / 2;
    printf("%g\n", w[3]);
    free(w);
    return 0;
}
