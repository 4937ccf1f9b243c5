/* expect: leak 9
 * expect: invalid_free 16
 * CWE-761: free is given the address of the second element of an array (so the block leaks). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    double *v = malloc(4 * sizeof *v);
    if (!v)
        return 1;
    for (int i = 0; i < 4; i++)
        v[i] = i / 2.0;
    double *tail = v + 1;
    printf("%.1f\n", tail[0]);
    free(tail);
    return 0;
}
