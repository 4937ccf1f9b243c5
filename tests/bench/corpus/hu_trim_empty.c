/* expect: heap_overflow 10
 * CWE-124/CWE-127: trimming trailing blanks of an empty string reads the byte before it. */
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
    printf("[%s]\n", s);
    free(s);
    return 0;
}
