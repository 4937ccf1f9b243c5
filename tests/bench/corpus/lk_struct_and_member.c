/* expect: leak 15
 * expect: leak 18
 * CWE-401: a whole record is lost, with the string it owns (two blocks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *key;
    int value;
};

static struct entry *entry_new(const char *key, int value)
{
    struct entry *e = malloc(sizeof *e);
    if (!e)
        return NULL;
    e->key = strdup(key);
    e->value = value;
    return e;
}

int main(void)
{
    struct entry *e = entry_new("answer", 42);
    if (!e || !e->key)
        return 1;
    printf("%s=%d\n", e->key, e->value);
    e = NULL;
    return 0;
}
