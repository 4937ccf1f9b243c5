/* expect: use_after_free 19
 * CWE-416: a record is freed, then one of its fields is printed. */
#include <stdio.h>
#include <stdlib.h>

struct account {
    int id;
    long balance;
};

int main(void)
{
    struct account *a = malloc(sizeof *a);
    if (!a)
        return 1;
    a->id = 7;
    a->balance = 1500;
    free(a);
    printf("%d %ld\n", a->id, a->balance);
    return 0;
}
