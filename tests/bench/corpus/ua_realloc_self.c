/* expect: unchecked_alloc_failure 15|17
 * CWE-690/CWE-401: p = realloc(p, n) unchecked (the old block is lost and NULL is used). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int cap = 4, len = 0;
    int *v = malloc(cap * sizeof *v);
    if (!v)
        return 1;
    for (int i = 0; i < 100; i++) {
        if (len == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof *v);
        }
        v[len++] = i;
    }
    printf("%d\n", v[99]);
    free(v);
    return 0;
}
