/* expect: none
 * Clean: a chained hash table of string keys, with replace and full teardown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NB 7

struct ent {
    char *key;
    int val;
    struct ent *next;
};

static unsigned hash(const char *s)
{
    unsigned h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h % NB;
}

static int put(struct ent **tab, const char *k, int v)
{
    struct ent **pp = &tab[hash(k)];
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, k) == 0) {
            (*pp)->val = v;
            return 0;
        }
    struct ent *e = malloc(sizeof *e);
    if (!e)
        return -1;
    e->key = strdup(k);
    if (!e->key) {
        free(e);
        return -1;
    }
    e->val = v;
    e->next = NULL;
    *pp = e;
    return 0;
}

int main(void)
{
    struct ent *tab[NB] = {0};
    const char *keys[] = {"a", "bb", "ccc", "a", "dd", "bb", "e"};
    for (int i = 0; i < 7; i++)
        put(tab, keys[i], i);
    int total = 0;
    for (int b = 0; b < NB; b++)
        for (struct ent *e = tab[b]; e; e = e->next)
            total += e->val;
    printf("%d\n", total);
    for (int b = 0; b < NB; b++)
        while (tab[b]) {
            struct ent *next = tab[b]->next;
            free(tab[b]->key);
            free(tab[b]);
            tab[b] = next;
        }
    return 0;
}
