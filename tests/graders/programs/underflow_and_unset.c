/* Two errors in one run: a write before a block (found at its line in the
 * run that moves blocks behind a guard page) and an element never set,
 * printed (the two runs print different values). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 4;
    int *v = malloc(n * sizeof *v);
    if (!v)
        return 1;
    for (int i = n - 1; i > 0; i--)
        v[i] = i * 10;
    v[-1] = 0;
    printf("%d %d\n", v[0], v[3]);
    free(v);
    puts("memgrade fixture canary");
    return 0;
}
