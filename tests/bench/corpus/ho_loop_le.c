/* expect: heap_overflow 13
 * CWE-122/CWE-193: a fill loop runs to i <= n and writes one int past the array. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 10;
    int *squares = malloc(n * sizeof *squares);
    if (!squares)
        return 1;
    for (int i = 0; i <= n; i++)
        squares[i] = i * i;
    printf("%d\n", squares[n - 1]);
    free(squares);
    return 0;
}
