/* expect: heap_overflow 12|21
 * CWE-122: a copy sized by strlen, with no room for the terminating NUL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *copy_name(const char *name)
{
    char *c = malloc(strlen(name));
    if (c == NULL)
        return NULL;
    strcpy(c, name);
    return c;
}

int main(void)
{
    char *n = copy_name("ada lovelace");
    if (n == NULL)
        return 1;
    printf("%s\n", n);
    free(n);
    return 0;
}
