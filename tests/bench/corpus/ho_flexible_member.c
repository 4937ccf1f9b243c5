/* expect: heap_overflow 19|20
 * CWE-131: a struct with a flexible array member allocated without room for the name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec {
    int id;
    char name[];
};

int main(void)
{
    const char *name = "grace hopper";
    struct rec *r = malloc(sizeof *r);
    if (!r)
        return 1;
    r->id = 1;
    strcpy(r->name, name);
    printf("%d %s\n", r->id, r->name);
    free(r);
    return 0;
}
