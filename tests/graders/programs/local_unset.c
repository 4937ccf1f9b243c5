/* A flag that is never set, branched on in a function whose two sides
 * behave the same: no run can tell, gcc can. Reported at the branch, not
 * charged to the test (which tests reach it is not known). */
#include <stdio.h>

static int positive(int x)
{
    int strict;
    if (strict)
        return x > 0;
    return x > 0;
}

int main(void)
{
    if (positive(5))
        puts("memgrade fixture canary");
    return 0;
}
