/* Correct: 40000 list nodes live at once (more than the guarded blocks the
 * kernel's mapping limit allows), all freed. Must get full marks. */
#include <stdio.h>
#include <stdlib.h>

struct node { struct node *next; int v; };

int main(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 40000; i++) {
        struct node *n = malloc(sizeof *n);
        if (!n)
            return 1;
        n->v = i;
        n->next = head;
        head = n;
    }
    long sum = 0;
    while (head) {
        struct node *next = head->next;
        sum += head->v;
        free(head);
        head = next;
    }
    if (sum == 40000L * 39999 / 2)
        puts("memgrade fixture canary");
    return 0;
}
