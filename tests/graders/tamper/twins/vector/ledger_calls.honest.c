/* Honest twin of ledger_calls.c: the same growth, no trick. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include "vector.h"

/* Bug: the array grows by 64 ints at a time, not geometrically. */
int vec_init(vector *v)
{
    v->data = NULL;
    v->len = 0;
    v->cap = 0;
    return 0;
}

int vec_push(vector *v, int x)
{
    if (v->len == v->cap) {
        size_t newcap = v->cap + 64;           /* BUG: grows by a constant */
        int *bigger = realloc(v->data, newcap * sizeof(int));
        if (bigger == NULL)
            return -1;
        v->data = bigger;
        v->cap = newcap;
    }
    v->data[v->len] = x;
    v->len++;
    return 0;
}

int vec_get(const vector *v, size_t i, int *out)
{
    if (i >= v->len)
        return -1;
    *out = v->data[i];
    return 0;
}

int vec_pop(vector *v, int *out)
{
    if (v->len == 0)
        return -1;
    v->len--;
    *out = v->data[v->len];
    return 0;
}

void vec_free(vector *v)
{
    free(v->data);
    v->data = NULL;
    v->len = 0;
    v->cap = 0;
}
