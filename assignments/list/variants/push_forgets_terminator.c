/* Variant: list_push allocates strlen(value) + 1 bytes but copies only the
 * characters, never the '\0'. Expected: uninitialized_read of the value
 * allocated in list_push (the last byte holds whatever was there). */
#include <stdlib.h>
#include <string.h>

#include "list.h"

node *list_push(node *head, const char *value)
{
    node *n = malloc(sizeof(node));
    if (n == NULL)
        return NULL;
    size_t len = strlen(value);
    n->value = malloc(len + 1);
    if (n->value == NULL) {
        free(n);                           /* nothing may leak */
        return NULL;
    }
    memcpy(n->value, value, len);
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
