/* Variant: vec_init allocates a first array of 4 ints with sizeof(v->data),
 * the size of a pointer (8 bytes: room for 2 ints), not 4 * sizeof(int).
 * Expected: heap_overflow at the store of the third element. */
#include <stdlib.h>

#include "vector.h"

int vec_init(vector *v)
{
    v->data = malloc(sizeof(v->data));
    if (v->data == NULL)
        return -1;
    v->len = 0;
    v->cap = 4;
    return 0;
}

int vec_push(vector *v, int x)
{
    if (v->len == v->cap) {
        size_t newcap = v->cap == 0 ? 8 : v->cap * 2;
        /* realloc into a temporary: on failure the old array is still ours */
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
