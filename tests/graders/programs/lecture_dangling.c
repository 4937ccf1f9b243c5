/* The lecture's dangling pointer (§2.5.5): write after free. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int *x = (int *)malloc(sizeof(int));
    free(x);
    *x = 5;
    puts("memgrade fixture canary");
    return 0;
}
