/* expect: heap_overflow 14
 * CWE-193: after strncpy(dst, src, n) into n bytes, dst[n] = 0 writes past the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    size_t n = 12;
    char *dst = malloc(n);
    if (!dst)
        return 1;
    strncpy(dst, "a rather long title", n);
    dst[n] = '\0';
    printf("%.*s\n", (int)n, dst);
    free(dst);
    return 0;
}
