/* expect: use_after_free 23
 * CWE-416: a list destroyed with for (n = head; n; n = n->next) free(n). */
#include <stdio.h>
#include <stdlib.h>

struct node {
    int v;
    struct node *next;
};

int main(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 3; i++) {
        struct node *n = malloc(sizeof *n);
        if (!n)
            return 1;
        n->v = i;
        n->next = head;
        head = n;
    }
    printf("%d\n", head->v);
    for (struct node *n = head; n != NULL; n = n->next)
        free(n);
    return 0;
}
