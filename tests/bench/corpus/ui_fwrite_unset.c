/* expect: uninitialized_read 10|14
 * CWE-908: a record with unset bytes is written out whole with fwrite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    size_t n = 16;
    char *rec = malloc(n);
    if (!rec)
        return 1;
    memcpy(rec, "HDR:", 4);
    fwrite(rec, 1, n, stdout);
    putchar('\n');
    free(rec);
    return 0;
}
