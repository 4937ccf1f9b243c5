/* expect: uninitialized_read 7|8
 * CWE-457: a branch on an unset local whose two sides print the same. */
#include <stdio.h>

static int classify(int x)
{
    int verbose;
    if (verbose)
        return x > 0;
    return x > 0;
}

int main(void)
{
    printf("%d\n", classify(5));
    return 0;
}
