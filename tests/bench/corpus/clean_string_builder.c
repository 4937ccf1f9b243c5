/* expect: none
 * Clean: a growable string doubled with a checked realloc into a temporary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sb {
    char *s;
    size_t len, cap;
};

static int sb_add(struct sb *b, const char *t)
{
    size_t n = strlen(t);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return -1;
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, t, n + 1);
    b->len += n;
    return 0;
}

int main(void)
{
    struct sb b = {NULL, 0, 0};
    for (int i = 0; i < 50; i++)
        if (sb_add(&b, i % 2 ? "ab" : "cde") < 0)
            break;
    printf("%zu %.10s\n", b.len, b.s);
    free(b.s);
    return 0;
}
