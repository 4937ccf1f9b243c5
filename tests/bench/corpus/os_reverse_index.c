/* expect: heap_overflow 16|17
 * CWE-193: reversing a string starts at s[len] and copies the NUL first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    const char *s = "stressed";
    size_t len = strlen(s);
    char *r = malloc(len + 1);
    if (!r)
        return 1;
    for (size_t i = 0; i <= len; i++)
        r[i] = s[len - i];
    r[len + 1] = '\0';
    printf("%zu\n", strlen(r + 1));
    free(r);
    return 0;
}
