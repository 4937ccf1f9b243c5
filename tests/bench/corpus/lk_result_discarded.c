/* expect: leak 8
 * CWE-401: the caller ignores the allocated result of a helper. */
#include <stdio.h>
#include <stdlib.h>

static int *make_range(int n)
{
    int *r = malloc(n * sizeof *r);
    if (!r)
        return NULL;
    for (int i = 0; i < n; i++)
        r[i] = i;
    return r;
}

int main(void)
{
    make_range(100);
    puts("made");
    return 0;
}
