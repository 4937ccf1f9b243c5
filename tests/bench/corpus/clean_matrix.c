/* expect: none
 * Clean: a calloc matrix, transposed into a second one, both freed row by row. */
#include <stdio.h>
#include <stdlib.h>

static double **mat_new(int r, int c)
{
    double **m = calloc(r, sizeof *m);
    if (!m)
        return NULL;
    for (int i = 0; i < r; i++) {
        m[i] = calloc(c, sizeof **m);
        if (!m[i]) {
            while (i--)
                free(m[i]);
            free(m);
            return NULL;
        }
    }
    return m;
}

static void mat_free(double **m, int r)
{
    for (int i = 0; i < r; i++)
        free(m[i]);
    free(m);
}

int main(void)
{
    double **a = mat_new(3, 5), **t = mat_new(5, 3);
    if (!a || !t)
        return 1;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            a[i][j] = i * 10 + j;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            t[j][i] = a[i][j];
    printf("%.0f %.0f\n", t[4][2], t[0][1]);
    mat_free(a, 3);
    mat_free(t, 5);
    return 0;
}
