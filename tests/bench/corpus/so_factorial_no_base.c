/* expect: stack_overflow 5|8
 * Stack overflow: a recursive factorial whose base case never matches. */
#include <stdio.h>

static long fact(long n) {
    if (n == 1)
        return 1;
    return n * fact(n - 2);
}

int main(void)
{
    printf("%ld\n", fact(10));
    return 0;
}
