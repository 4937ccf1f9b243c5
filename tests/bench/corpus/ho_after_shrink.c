/* expect: heap_overflow 19
 * CWE-122: realloc shrinks the block, the loop still writes the old length. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    size_t cap = 64;
    char *buf = malloc(cap);
    if (!buf)
        return 1;
    char *smaller = realloc(buf, 16);
    if (!smaller) {
        free(buf);
        return 1;
    }
    buf = smaller;
    for (size_t i = 0; i < cap; i++)
        buf[i] = 'a';
    printf("%c\n", buf[0]);
    free(buf);
    return 0;
}
