/* A list freed front to back that reads each node's next after freeing it:
 * one use after free. The run goes on with the value the freed node held,
 * so nothing else is reported: no double free, no leak of the rest. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    int v;
    struct node *next;
};

int main(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 5; i++) {
        struct node *n = malloc(sizeof *n);
        if (!n)
            return 1;
        n->v = i;
        n->next = head;
        head = n;
    }
    for (struct node *p = head; p; p = p->next)
        free(p);
    puts("memgrade fixture canary");
    return 0;
}
