/* list.h: a singly linked list of strings (the list assignment).
 *
 * You write list.c, which implements these four functions. The grader
 * supplies this header and its own main(); do not write a main().
 * Each node and the string in its value are on the heap and owned by the
 * list. An empty list is the NULL pointer. */
#ifndef LIST_H
#define LIST_H

#include <stddef.h>

typedef struct node { char *value; struct node *next; } node;

/* Puts a new node in front of head holding a heap copy of value (the list
 * does not keep the caller's pointer). Returns the new head, or NULL if an
 * allocation fails; then head is untouched and nothing is leaked. */
node *list_push(node *head, const char *value);

/* Unlinks and frees the first node whose value equals value (strcmp), along
 * with its copy of the string. Returns the new head: head itself when
 * nothing matches, the second node when the first one is removed, NULL when
 * the last node is removed. */
node *list_remove(node *head, const char *value);

/* Returns the number of nodes in the list (0 for NULL). */
size_t list_length(const node *head);

/* Frees every node and every value of the list. list_destroy(NULL) does
 * nothing. */
void list_destroy(node *head);

#endif
