/* expect: leak 13
 * CWE-401: only the head node of a list is freed. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    int v;
    struct node *next;
};

static struct node *push(struct node *head, int v)
{
    struct node *n = malloc(sizeof *n);
    if (!n)
        exit(1);
    n->v = v;
    n->next = head;
    return n;
}

int main(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 4; i++)
        head = push(head, i);
    printf("%d\n", head->v);
    free(head);
    return 0;
}
