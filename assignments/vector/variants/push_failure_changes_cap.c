/* Variant: vec_push updates cap before it knows realloc succeeded; when realloc
 * fails it returns -1 with cap already doubled, so the vector claims room it
 * does not have. */
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
        v->cap = v->cap == 0 ? 8 : v->cap * 2;
        size_t newcap = v->cap;
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
