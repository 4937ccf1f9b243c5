/* Variant: vec_push calls realloc again and again until it succeeds,
 * instead of returning -1 when it fails (the header says: -1 if an
 * allocation fails). Out of memory, it never returns. Expected:
 * unchecked_alloc_failure at the realloc ("retries realloc forever"). */
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
        int *bigger;
        do
            bigger = realloc(v->data, newcap * sizeof(int));
        while (bigger == NULL);               /* try again until it works */
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
