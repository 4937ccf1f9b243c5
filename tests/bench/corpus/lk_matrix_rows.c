/* expect: leak 13
 * CWE-401: a matrix frees its row table but not the rows. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int rows = 3, cols = 4;
    double **m = malloc(rows * sizeof *m);
    if (!m)
        return 1;
    for (int r = 0; r < rows; r++) {
        m[r] = calloc(cols, sizeof **m);
        if (!m[r])
            return 1;
    }
    m[1][2] = 0.5;
    printf("%.1f\n", m[1][2]);
    free(m);
    return 0;
}
