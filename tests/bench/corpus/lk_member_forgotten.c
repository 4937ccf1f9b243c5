/* expect: leak 17
 * CWE-401: a struct is freed but not the array it owns. */
#include <stdio.h>
#include <stdlib.h>

struct vec {
    int *data;
    int len;
};

int main(void)
{
    struct vec *v = malloc(sizeof *v);
    if (!v)
        return 1;
    v->len = 5;
    v->data = calloc(v->len, sizeof *v->data);
    if (!v->data)
        return 1;
    v->data[4] = 9;
    printf("%d\n", v->data[4]);
    free(v);
    return 0;
}
