/* A block lost before a crash is a leak, as Valgrind reports it; blocks
 * still pointed to at the crash (from a global, a local, another block)
 * are not: the code might yet have freed them. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    struct node *next;
    int v;
};
static struct node *head;

int main(void)
{
    int *lost = malloc(64);
    if (!lost)
        return 1;
    lost[0] = 1;
    lost = NULL;
    head = malloc(sizeof *head);
    if (!head)
        return 1;
    head->next = malloc(sizeof *head);
    char *kept = malloc(16);
    if (!head->next || !kept)
        return 1;
    head->next->next = NULL;
    kept[0] = 'k';
    puts("memgrade fixture canary");
    struct node *n = NULL;
    printf("%d %c\n", n->v, kept[0]);
    return 0;
}
