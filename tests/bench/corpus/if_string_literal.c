/* expect: invalid_free 18
 * CWE-590: a default value that is a string literal is freed like a strdup result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *name_or_default(const char *given)
{
    if (given && *given)
        return strdup(given);
    return (char *)"anonymous";
}

int main(void)
{
    char *n = name_or_default("");
    printf("%s\n", n);
    free(n);
    return 0;
}
