/* expect: null_dereference 24
 * CWE-476: a lookup returns NULL for a missing key and the result is used. */
#include <stdio.h>
#include <string.h>

struct kv {
    const char *k;
    int v;
};

static const struct kv table[] = {{"one", 1}, {"two", 2}};

static const struct kv *find(const char *k)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].k, k) == 0)
            return &table[i];
    return NULL;
}

int main(void)
{
    printf("%d\n", find("one")->v);
    printf("%d\n", find("three")->v);
    return 0;
}
