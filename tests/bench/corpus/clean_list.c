/* expect: none
 * Clean: a singly linked list built, reversed, printed and freed node by node. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    int v;
    struct node *next;
};

int main(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 10; i++) {
        struct node *n = malloc(sizeof *n);
        if (!n)
            break;
        n->v = i;
        n->next = head;
        head = n;
    }
    struct node *rev = NULL;
    while (head) {
        struct node *next = head->next;
        head->next = rev;
        rev = head;
        head = next;
    }
    for (struct node *n = rev; n; n = n->next)
        printf("%d ", n->v);
    putchar('\n');
    while (rev) {
        struct node *next = rev->next;
        free(rev);
        rev = next;
    }
    return 0;
}
