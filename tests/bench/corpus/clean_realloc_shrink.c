/* expect: none
 * Clean: a buffer shrunk with realloc and used only within its new size. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    size_t n = 1000;
    int *v = malloc(n * sizeof *v);
    if (!v)
        return 1;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (i % 37 == 0)
            v[kept++] = (int)i;
    int *s = realloc(v, kept * sizeof *s);
    if (s)
        v = s;
    long sum = 0;
    for (size_t i = 0; i < kept; i++)
        sum += v[i];
    printf("%zu %ld\n", kept, sum);
    free(v);
    return 0;
}
