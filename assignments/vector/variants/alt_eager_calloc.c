/* Variant (correct, full marks): allocates a first array in vec_init with
 * calloc and grows by half again (x1.5) with realloc into a temporary.
 * Must get full marks and no error. */
#include <stdlib.h>

#include "vector.h"

int vec_init(vector *v)
{
    v->data = calloc(4, sizeof *v->data);
    if (v->data == NULL) {
        v->len = v->cap = 0;
        return -1;
    }
    v->len = 0;
    v->cap = 4;
    return 0;
}

int vec_push(vector *v, int x)
{
    if (v->len == v->cap) {
        size_t newcap = v->cap + v->cap / 2 + 1;
        int *tmp = realloc(v->data, newcap * sizeof *tmp);
        if (tmp == NULL)
            return -1;
        v->data = tmp;
        v->cap = newcap;
    }
    v->data[v->len++] = x;
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
    *out = v->data[--v->len];
    return 0;
}

void vec_free(vector *v)
{
    free(v->data);
    *v = (vector){ NULL, 0, 0 };
}
