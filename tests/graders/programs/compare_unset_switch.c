/* A switch on an unset heap int whose cases print the same, and a double
 * never written compared: uninitialized_read at each line. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    int *m = malloc(2 * sizeof *m);
    double *d = malloc(sizeof *d);
    if (!m || !d)
        return 1;
    switch (m[1]) {
    case 1: puts("memgrade fixture canary"); break;
    default: puts("memgrade fixture canary"); break;
    }
    if (*d < 0.5)
        m[0] = 0;
    free(m);
    free(d);
    return 0;
}
