/* expect: none
 * Clean: heap records sorted with qsort by a comparison on two keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec {
    char name[12];
    int age;
};

static int by_age_name(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->age != y->age)
        return x->age < y->age ? -1 : 1;
    return strcmp(x->name, y->name);
}

int main(void)
{
    static const char *names[] = {"eve", "bob", "amy", "dan", "cyd"};
    static const int ages[] = {31, 25, 31, 19, 25};
    struct rec *r = malloc(5 * sizeof *r);
    if (!r)
        return 1;
    for (int i = 0; i < 5; i++) {
        snprintf(r[i].name, sizeof r[i].name, "%s", names[i]);
        r[i].age = ages[i];
    }
    qsort(r, 5, sizeof *r, by_age_name);
    for (int i = 0; i < 5; i++)
        printf("%s:%d ", r[i].name, r[i].age);
    putchar('\n');
    free(r);
    return 0;
}
