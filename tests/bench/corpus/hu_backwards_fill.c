/* expect: heap_overflow 11
 * CWE-124: filling a buffer backwards with *--p one step too many. */
#include <stdio.h>
#include <stdlib.h>

static void utoa_into(char *buf, int len, unsigned v)
{
    char *p = buf + len;
    *--p = '\0';
    for (int i = 0; i < len; i++) {
        *--p = (char)('0' + v % 10);
        v /= 10;
    }
}

int main(void)
{
    int len = 6;
    char *buf = malloc(len);
    if (!buf)
        return 1;
    utoa_into(buf, len, 4242);
    printf("%s\n", buf);
    free(buf);
    return 0;
}
