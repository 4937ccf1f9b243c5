/* The lecture's uninitialized read (§2.5.3): prints an int malloc never
 * set. Its output changes with what new memory holds. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int *x = (int *)malloc(sizeof(int));
    printf("%d\n", *x);
    puts("memgrade fixture canary");
    free(x);
    return 0;
}
