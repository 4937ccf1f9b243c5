/* expect: uninitialized_read 9|17
 * CWE-908: only half of a malloc array is set, the sum covers all of it. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 8;
    int *v = malloc(n * sizeof *v);
    if (!v)
        return 1;
    for (int i = 0; i < n / 2; i++)
        v[i] = i;
    long sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    printf("%ld\n", sum);
    free(v);
    return 0;
}
