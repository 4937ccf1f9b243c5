/* The benchmark's small C file: a typical short student submission (a
 * string list with malloc/free), compiled with gcc -O0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    char *value;
    struct node *next;
} node;

static node *push(node *head, const char *value)
{
    node *n = malloc(sizeof *n);
    if (!n)
        return NULL;
    n->value = malloc(strlen(value) + 1);
    if (!n->value) {
        free(n);
        return NULL;
    }
    strcpy(n->value, value);
    n->next = head;
    return n;
}

static size_t length(const node *head)
{
    size_t n = 0;
    for (; head; head = head->next)
        n++;
    return n;
}

static void destroy(node *head)
{
    while (head) {
        node *next = head->next;
        free(head->value);
        free(head);
        head = next;
    }
}

int main(int argc, char **argv)
{
    node *head = NULL;
    for (int i = 0; i < argc; i++) {
        node *n = push(head, argv[i]);
        if (!n) {
            fprintf(stderr, "cannot allocate\n");
            destroy(head);
            return 1;
        }
        head = n;
    }
    printf("%zu\n", length(head));
    destroy(head);
    return 0;
}
