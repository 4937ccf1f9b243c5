/* expect: invalid_free 14
 * CWE-590: a global buffer is freed. */
#include <stdio.h>
#include <stdlib.h>

static int table[32];

int main(void)
{
    int *t = table;
    for (int i = 0; i < 32; i++)
        t[i] = i;
    printf("%d\n", t[31]);
    free(t);
    return 0;
}
