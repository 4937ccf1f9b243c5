/* Reads before the start of a block (trimming the blanks of an empty
 * string looks at the byte before it), in a run with no other error:
 * found at its line, as a heap_overflow, every time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rtrim(char *s)
{
    char *end = s + strlen(s) - 1;
    while (*end == ' ')
        *end-- = '\0';
}

int main(void)
{
    char *s = malloc(1);
    if (!s)
        return 1;
    s[0] = '\0';
    rtrim(s);
    free(s);
    puts("memgrade fixture canary");
    return 0;
}
