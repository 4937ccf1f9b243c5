/* The lecture's double free (§2.5.6). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int *x = (int *)malloc(sizeof(int));
    free(x);
    free(x);
    puts("memgrade fixture canary");
    return 0;
}
