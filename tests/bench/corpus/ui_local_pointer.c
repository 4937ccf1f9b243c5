/* expect: uninitialized_read|wild_access|null_dereference 7|10|11
 * CWE-824/CWE-457: a local pointer that was never set is written through (whatever it holds). */
#include <stdio.h>

static void fill(int choice)
{
    char *dst;
    if (choice > 10)
        dst = "unused";
    dst[0] = 'x';
    printf("%c\n", dst[0]);
}

int main(void)
{
    fill(1);
    return 0;
}
