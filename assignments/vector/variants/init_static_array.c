/* Variant: vec_init points data at a static array of 8 ints ("the first
 * elements need no malloc"), which vec_free (and vec_push's realloc, when it
 * grows) later hand to the allocator as if malloc had made it; every vector
 * also shares that array. Expected: invalid_free at free(v->data) in
 * vec_free. */
#include <stdlib.h>

#include "vector.h"

static int first_block[8];                 /* the first 8 ints need no malloc */

int vec_init(vector *v)
{
    v->data = first_block;
    v->len = 0;
    v->cap = 8;
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
