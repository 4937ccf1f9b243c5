/* Variant: list_push stores the caller's pointer instead of a copy, and the
 * list frees it later: a string literal or a local array, never malloc'd.
 * Expected: invalid_free at the free(n->value) in free_node. */
#include <stdlib.h>
#include <string.h>

#include "list.h"

node *list_push(node *head, const char *value)
{
    node *n = malloc(sizeof(node));
    if (n == NULL)
        return NULL;
    n->value = (char *)value;
    n->next = head;
    return n;
}

static void free_node(node *n)
{
    free(n->value);
    free(n);
}

node *list_remove(node *head, const char *value)
{
    node *prev = NULL;
    for (node *cur = head; cur != NULL; prev = cur, cur = cur->next) {
        if (strcmp(cur->value, value) == 0) {
            node *next = cur->next;
            free_node(cur);
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
        free_node(head);
        head = next;
    }
}
