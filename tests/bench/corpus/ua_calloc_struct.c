/* expect: unchecked_alloc_failure 12|13
 * CWE-690: calloc of a struct used unchecked in a helper. */
#include <stdio.h>
#include <stdlib.h>

struct counter {
    long n;
};

static struct counter *counter_new(void)
{
    struct counter *c = calloc(1, sizeof *c);
    c->n = 1;
    return c;
}

int main(void)
{
    struct counter *c = counter_new();
    printf("%ld\n", c->n);
    free(c);
    return 0;
}
