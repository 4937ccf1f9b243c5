/* expect: heap_overflow 13|22
 * CWE-193: a concatenation sized strlen(a) + strlen(b), no room for the NUL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *concat(const char *a, const char *b)
{
    char *r = malloc(strlen(a) + strlen(b));
    if (!r)
        return NULL;
    strcpy(r, a);
    strcat(r, b);
    return r;
}

int main(void)
{
    char *r = concat("foo", "barbaz");
    if (!r)
        return 1;
    printf("%s\n", r);
    free(r);
    return 0;
}
