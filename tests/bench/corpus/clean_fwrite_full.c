/* expect: none
 * Clean: a block filled completely and written out with fwrite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    size_t n = 40;
    char *row = malloc(n + 1);
    if (!row)
        return 1;
    memset(row, '=', n);
    row[n] = '\n';
    fwrite(row, 1, n + 1, stdout);
    free(row);
    return 0;
}
