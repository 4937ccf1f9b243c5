/* expect: none
 * Clean: calloc-zeroed counters read without being written first. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    const char *s = "mississippi";
    unsigned *count = calloc(256, sizeof *count);
    if (!count)
        return 1;
    for (const char *p = s; *p; p++)
        count[(unsigned char)*p]++;
    for (int c = 'a'; c <= 'z'; c++)
        if (count[c])
            printf("%c%u ", c, count[c]);
    putchar('\n');
    free(count);
    return 0;
}
