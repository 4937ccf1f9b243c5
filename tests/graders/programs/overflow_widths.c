/* Two overflows right after the end, worded by what the code stored: one
 * byte (a string's '\0') and an 8-byte element in a block sized for ints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    const char *s = "abc";
    char *c = malloc(strlen(s));
    long *v = malloc(3 * sizeof(int));
    if (!c || !v)
        return 1;
    for (size_t i = 0; i <= strlen(s); i++)
        c[i] = s[i];
    v[0] = 1;
    v[1] = 2;
    free(c);
    free(v);
    puts("memgrade fixture canary");
    return 0;
}
