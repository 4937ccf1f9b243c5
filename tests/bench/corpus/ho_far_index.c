/* expect: heap_overflow 13
 * CWE-787: an index computed from the wrong dimension lands far past a small block. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int w = 8, h = 4;
    unsigned char *img = calloc((size_t)w * h, 1);
    if (!img)
        return 1;
    int x = 7, y = 3;
    img[x * w + y * h * w] = 255;
    printf("%d\n", img[0]);
    free(img);
    return 0;
}
