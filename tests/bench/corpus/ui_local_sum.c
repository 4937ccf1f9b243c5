/* expect: uninitialized_read 8|10|11
 * CWE-457: an accumulator local is never set to zero. */
#include <stdio.h>

int main(void)
{
    int values[5] = {3, 1, 4, 1, 5};
    int total;
    for (int i = 0; i < 5; i++)
        total += values[i];
    printf("%d\n", total);
    return 0;
}
