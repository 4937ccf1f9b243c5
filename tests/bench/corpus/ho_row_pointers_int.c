/* expect: heap_overflow 13|14|17|18|20
 * CWE-131: a table of row pointers allocated with sizeof(int) per row. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int rows = 4, cols = 3;
    int **m = malloc(rows * sizeof(int));
    if (!m)
        return 1;
    for (int r = 0; r < rows; r++) {
        m[r] = calloc(cols, sizeof(int));
        if (!m[r])
            return 1;
    }
    m[rows - 1][cols - 1] = 7;
    printf("%d\n", m[rows - 1][cols - 1]);
    for (int r = 0; r < rows; r++)
        free(m[r]);
    free(m);
    return 0;
}
