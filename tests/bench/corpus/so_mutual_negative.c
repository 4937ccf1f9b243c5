/* expect: stack_overflow 7|10|13|16
 * Stack overflow: mutual recursion that never ends for a negative argument. */
#include <stdio.h>

static int is_odd(int n);

static int is_even(int n) {
    if (n == 0)
        return 1;
    return is_odd(n - 1);
}

static int is_odd(int n) {
    if (n == 0)
        return 0;
    return is_even(n - 1);
}

int main(void)
{
    printf("%d %d\n", is_even(4), is_even(-3));
    return 0;
}
