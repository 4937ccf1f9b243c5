/* expect: uninitialized_read 13|18
 * CWE-908: a malloc record whose next pointer was never set is followed. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    int v;
    struct node *next;
};

int main(void)
{
    struct node *n = malloc(sizeof *n);
    if (!n)
        return 1;
    n->v = 1;
    int count = 0;
    for (struct node *p = n; p; p = p->next)
        count++;
    printf("%d\n", count);
    free(n);
    return 0;
}
