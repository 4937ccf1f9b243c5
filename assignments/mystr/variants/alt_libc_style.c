/* Variant (correct, full marks): another way to write it, leaning on the C
 * library: strdup, strcpy/strcat, strchr, and a field array grown with
 * realloc through a temporary pointer. Must get full marks and no error. */
#include <stdlib.h>
#include <string.h>

#include "mystr.h"

char *str_dup(const char *s)
{
    if (!s)
        return NULL;
    return strdup(s);
}

char *str_concat(const char *a, const char *b)
{
    if (!a || !b)
        return NULL;
    char *out = malloc(strlen(a) + strlen(b) + 1);
    if (!out)
        return NULL;
    strcpy(out, a);
    strcat(out, b);
    return out;
}

char **str_split(const char *s, char sep, size_t *count)
{
    if (!s || !count)
        return NULL;
    char **parts = NULL;
    size_t n = 0, cap = 0;
    const char *start = s;
    for (;;) {
        const char *end = strchr(start, sep);
        size_t len = end ? (size_t)(end - start) : strlen(start);
        if (n == cap) {
            size_t newcap = cap ? cap * 2 : 4;
            char **bigger = realloc(parts, newcap * sizeof *bigger);
            if (!bigger)
                goto fail;
            parts = bigger;
            cap = newcap;
        }
        parts[n] = calloc(len + 1, 1);
        if (!parts[n])
            goto fail;
        memcpy(parts[n], start, len);
        n++;
        if (!end)
            break;
        start = end + 1;
    }
    *count = n;
    return parts;
fail:
    str_split_free(parts, n);
    return NULL;
}

void str_split_free(char **parts, size_t count)
{
    if (!parts)
        return;
    while (count > 0)
        free(parts[--count]);
    free(parts);
}
