/* expect: use_after_free 20
 * CWE-416: two records share one string; freeing the first leaves the second dangling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct person {
    char *name;
};

int main(void)
{
    struct person a, b;
    a.name = strdup("linus");
    if (!a.name)
        return 1;
    b.name = a.name;
    free(a.name);
    a.name = NULL;
    printf("%zu\n", strlen(b.name));
    return 0;
}
