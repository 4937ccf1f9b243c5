/* expect: leak 15
 * expect: use_after_free 16
 * expect: double_free 17
 * Realloc misuse: the result of a growing realloc is ignored and the old pointer kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *s = malloc(4096);
    if (!s)
        return 1;
    strcpy(s, "short");
    realloc(s, 64000);
    printf("%s\n", s);
    free(s);
    return 0;
}
