/* Variant (correct, full marks): recursive list_length and list_destroy,
 * strdup for the copy, a pointer to the link for list_remove. Must get full
 * marks and no error. */
#include <stdlib.h>
#include <string.h>

#include "list.h"

node *list_push(node *head, const char *value)
{
    node *n = malloc(sizeof *n);
    if (n == NULL)
        return NULL;
    n->value = strdup(value);
    if (n->value == NULL) {
        free(n);
        return NULL;
    }
    n->next = head;
    return n;
}

node *list_remove(node *head, const char *value)
{
    node **link = &head;
    while (*link != NULL && strcmp((*link)->value, value) != 0)
        link = &(*link)->next;
    if (*link != NULL) {
        node *dead = *link;
        *link = dead->next;
        free(dead->value);
        free(dead);
    }
    return head;
}

size_t list_length(const node *head)
{
    if (head == NULL)
        return 0;
    return 1 + list_length(head->next);
}

void list_destroy(node *head)
{
    if (head == NULL)
        return;
    list_destroy(head->next);
    free(head->value);
    free(head);
}
