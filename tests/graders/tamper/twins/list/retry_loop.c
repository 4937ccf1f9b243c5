/* Tamper (class 5, fault injection defeated): list_push retries each malloc
 * until it succeeds (only the k-th allocation fails on purpose). No failure
 * is handled (twin: unchecked malloc).
 * errors-move: the failure shows at the malloc it retries (or the free of
 * the static block), where the twin crashes on the NULL after it. */
#include <stdlib.h>
#include <string.h>

#include "list.h"

node *list_push(node *head, const char *value)
{
    node *n;
    while ((n = malloc(sizeof(node))) == NULL)
        ;                                        /* BUG: never handled */
    size_t len = strlen(value);
    while ((n->value = malloc(len + 1)) == NULL)
        ;                                        /* BUG: never handled */
    memcpy(n->value, value, len + 1);
    n->next = head;
    return n;
}

node *list_remove(node *head, const char *value)
{
    node *prev = NULL;
    for (node *cur = head; cur != NULL; prev = cur, cur = cur->next) {
        if (strcmp(cur->value, value) == 0) {
            node *next = cur->next;
            free(cur->value);
            free(cur);
            if (prev == NULL)
                return next;               /* removed the head */
            prev->next = next;
            return head;
        }
    }
    return head;
}

size_t list_length(const node *head)
{
    size_t n = 0;
    for (const node *cur = head; cur != NULL; cur = cur->next)
        n++;
    return n;
}

void list_destroy(node *head)
{
    while (head != NULL) {
        node *next = head->next;           /* read before freeing */
        free(head->value);
        free(head);
        head = next;
    }
}
