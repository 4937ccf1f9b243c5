/* expect: heap_overflow 10
 * CWE-125 on the heap: an average reads one element past the block. */
#include <stdio.h>
#include <stdlib.h>

static double average(const int *v, int n)
{
    long sum = 0;
    for (int i = 1; i <= n; i++)
        sum += v[i];
    return (double)sum / n;
}

int main(void)
{
    int n = 6;
    int *v = malloc(n * sizeof(int));
    if (!v)
        return 1;
    for (int i = 0; i < n; i++)
        v[i] = i + 1;
    printf("%.2f\n", average(v, n));
    free(v);
    return 0;
}
