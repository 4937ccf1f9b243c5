/* Variant: vec_pop gives memory back when the vector is a quarter full by
 * halving the array with realloc, but forgets to halve cap too: pushes after
 * that believe there is room that is no longer there. Expected: heap_overflow
 * at the store in vec_push after the vector has shrunk. */
#include <stdlib.h>

#include "vector.h"

int vec_init(vector *v)
{
    v->data = NULL;                        /* first push allocates */
    v->len = 0;
    v->cap = 0;
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
    if (v->cap > 8 && v->len == v->cap / 4) {
        int *smaller = realloc(v->data, v->cap / 2 * sizeof(int));
        if (smaller != NULL)
            v->data = smaller;
    }
    return 0;
}

void vec_free(vector *v)
{
    free(v->data);
    v->data = NULL;
    v->len = 0;
    v->cap = 0;
}
