/* expect: leak 11
 * expect: leak 12
 * expect: leak 13
 * Three leaks from three allocation sites. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *a = strdup("alpha");
    int *b = malloc(4 * sizeof *b);
    double *c = calloc(2, sizeof *c);
    if (!a || !b || !c)
        return 1;
    b[0] = 1;
    c[1] = 2.5;
    printf("%s %d %.1f\n", a, b[0], c[1]);
    a = NULL;
    b = NULL;
    c = NULL;
    return 0;
}
