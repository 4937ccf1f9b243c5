/* expect: heap_overflow 13
 * CWE-131: malloc(n) for n ints (the element count passed as a byte count). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 32;
    int *hist = malloc(n);
    if (!hist)
        return 1;
    for (int i = 0; i < n; i++)
        hist[i] = 0;
    hist[3]++;
    printf("%d\n", hist[3]);
    free(hist);
    return 0;
}
