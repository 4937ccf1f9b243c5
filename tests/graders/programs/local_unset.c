/* A flag that is never set, branched on in a function whose two sides
 * behave the same: no output tells, but the run sees the branch test the
 * compiler's fill pattern (and gcc says so too). Reported at the branch,
 * once, and charged to the test that reached it. */
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
