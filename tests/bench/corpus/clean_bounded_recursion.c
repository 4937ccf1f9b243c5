/* expect: none
 * Clean: recursion 5000 deep with small frames (well inside the stack). */
#include <stdio.h>

static long depth_sum(int n)
{
    if (n == 0)
        return 0;
    return n + depth_sum(n - 1);
}

int main(void)
{
    printf("%ld\n", depth_sum(5000));
    return 0;
}
