/* expect: none
 * Clean: free(NULL), realloc(NULL, n) and a zero-size realloc-then-free. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    free(NULL);
    char *p = realloc(NULL, 10);
    if (!p)
        return 1;
    p[9] = 'z';
    char *q = realloc(p, 20);
    if (!q) {
        free(p);
        return 1;
    }
    q[19] = 'y';
    printf("%c%c\n", q[9], q[19]);
    free(q);
    char *e = malloc(0);
    free(e);
    return 0;
}
