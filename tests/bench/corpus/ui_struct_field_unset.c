/* expect: uninitialized_read 12|25
 * CWE-908: a constructor forgets one field, which is printed. */
#include <stdio.h>
#include <stdlib.h>

struct box {
    int w, h, depth;
};

static struct box *box_new(int w, int h)
{
    struct box *b = malloc(sizeof *b);
    if (!b)
        return NULL;
    b->w = w;
    b->h = h;
    return b;
}

int main(void)
{
    struct box *b = box_new(2, 3);
    if (!b)
        return 1;
    printf("%d\n", b->w * b->h * b->depth);
    free(b);
    return 0;
}
