/* expect: null_dereference 16
 * CWE-476: a struct pointer kept NULL on a "not needed" path is written through. */
#include <stdio.h>
#include <stdlib.h>

struct stats {
    long hits;
};

int main(void)
{
    struct stats *s = NULL;
    int enabled = 0;
    if (enabled)
        s = calloc(1, sizeof *s);
    s->hits = 1;
    printf("%ld\n", s->hits);
    free(s);
    return 0;
}
