/* An accumulator never set to zero: only gcc's optimizer (-O1) sees it,
 * no comparison tests it and both runs print the same. Reported at its
 * line from gcc's warning, not charged (which tests reach it is not known). */
#include <stdio.h>

static int sum3(const int v[3])
{
    int total;
    for (int i = 0; i < 3; i++)
        total += v[i];
    return total;
}

int main(void)
{
    int v[3] = {1, 2, 3};
    if (sum3(v) == 123456)
        puts("never");
    puts("memgrade fixture canary");
    return 0;
}
