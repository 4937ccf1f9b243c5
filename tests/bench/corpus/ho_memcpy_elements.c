/* expect: heap_overflow 14
 * CWE-131: a block sized with sizeof(int) receives n longs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    long src[4] = {10, 20, 30, 40};
    size_t n = 4;
    long *dst = malloc(n * sizeof(int));
    if (dst == NULL)
        return 1;
    memcpy(dst, src, n * sizeof(long));
    printf("%ld\n", dst[0]);
    free(dst);
    return 0;
}
