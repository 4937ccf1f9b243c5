/* expect: heap_overflow 15
 * CWE-124: a shift loop writes a[i - 1] starting from i = 0. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 8;
    int *a = malloc(n * sizeof *a);
    if (a == NULL)
        return 1;
    for (int i = 0; i < n; i++)
        a[i] = i;
    for (int i = 0; i < n; i++)
        a[i - 1] = a[i];
    printf("%d\n", a[0]);
    free(a);
    return 0;
}
