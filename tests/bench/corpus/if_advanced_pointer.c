/* expect: leak 10
 * expect: invalid_free 16
 * CWE-761: the pointer walked along the string is freed instead of its start (so the block leaks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *s = strdup("   padded");
    if (!s)
        return 1;
    while (*s == ' ')
        s++;
    printf("%s\n", s);
    free(s);
    return 0;
}
