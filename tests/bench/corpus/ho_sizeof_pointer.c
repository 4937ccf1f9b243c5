/* expect: heap_overflow 16|17
 * CWE-467: malloc(sizeof(struct point *)) for a struct of three doubles. */
#include <stdio.h>
#include <stdlib.h>

struct point {
    double x, y, z;
};

int main(void)
{
    struct point *p = malloc(sizeof(struct point *));
    if (p == NULL)
        return 1;
    p->x = 1.0;
    p->y = 2.0;
    p->z = 3.0;
    printf("%.1f\n", p->x);
    free(p);
    return 0;
}
