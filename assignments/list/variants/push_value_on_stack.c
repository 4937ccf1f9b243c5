/* Variant: list_push copies the value into a local array (a VLA sized with
 * strlen) instead of a heap block, so every node's value points into a dead
 * stack frame, and list_destroy's free(head->value) gets an address on the
 * stack. Expected: invalid_free at that free in list_destroy. */
#include <stdlib.h>
#include <string.h>

#include "list.h"

node *list_push(node *head, const char *value)
{
    node *n = malloc(sizeof(node));
    if (n == NULL)
        return NULL;
    size_t len = strlen(value);
    char copy[len + 1];                    /* +1 for the '\0' */
    memcpy(copy, value, len + 1);
    n->value = copy;
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
