/* expect: leak 13
 * expect: null_dereference 19
 * Two errors: a leak made before a NULL dereference that ends the program. */
#include <stdio.h>
#include <stdlib.h>

struct cfg {
    int *ports;
};

int main(void)
{
    int *tmp = malloc(64);
    if (!tmp)
        return 1;
    tmp[0] = 80;
    tmp = NULL;
    struct cfg *c = NULL;
    printf("%d\n", c->ports[0]);
    return 0;
}
