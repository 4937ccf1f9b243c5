/* expect: null_dereference 13
 * CWE-476: the first value of an empty list is read through a NULL head. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    int v;
    struct node *next;
};

static int first(const struct node *head)
{
    return head->v;
}

int main(void)
{
    struct node *head = NULL;
    printf("%d\n", first(head));
    return 0;
}
