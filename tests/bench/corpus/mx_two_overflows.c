/* expect: heap_overflow 12
 * expect: heap_overflow 20
 * Two errors: an overflow in each of two blocks, in different functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *label(const char *s)
{
    char *l = malloc(strlen(s));
    if (l)
        memcpy(l, s, strlen(s) + 1);
    return l;
}

static int *zeros(int n)
{
    int *z = malloc(n * sizeof *z);
    if (z)
        z[n] = 0;
    return z;
}

int main(void)
{
    char *l = label("abc");
    int *z = zeros(3);
    printf("%c %d\n", l ? l[0] : '-', z ? 1 : 0);
    free(l);
    free(z);
    return 0;
}
