/* Writes one element before its array (a loop that counts down one step
 * too far): found at its line in a whole program, with the right kind. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 6;
    int *v = malloc(n * sizeof *v);
    if (!v)
        return 1;
    for (int i = n - 1; i >= -1; i--)
        v[i] = i;
    printf("%d\n", v[0] + v[n - 1]);
    free(v);
    puts("memgrade fixture canary");
    return 0;
}
