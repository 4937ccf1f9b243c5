/* Variant: list_push sizes the copy of the string with sizeof(value), the
 * size of a pointer (8), not strlen(value) + 1. Expected: heap_overflow at the
 * strcpy for any value of 8 characters or more. */
#include <stdlib.h>
#include <string.h>

#include "list.h"

node *list_push(node *head, const char *value)
{
    node *n = malloc(sizeof(node));
    if (n == NULL)
        return NULL;
    n->value = malloc(sizeof(value));
    if (n->value == NULL) {
        free(n);                           /* nothing may leak */
        return NULL;
    }
    strcpy(n->value, value);
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
