/* Variant: str_split grows its array with realloc as it finds fields, but
 * keeps writing through a pointer into the old array that it took before
 * growing it: realloc moved the array. Expected: use_after_free at the store
 * through the stale pointer. */
#include <stdlib.h>
#include <string.h>

#include "mystr.h"

char *str_dup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, n + 1);
    return copy;
}

char *str_concat(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return NULL;
    size_t na = strlen(a), nb = strlen(b);
    char *out = malloc(na + nb + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, a, na);
    memcpy(out + na, b, nb + 1);
    return out;
}

char **str_split(const char *s, char sep, size_t *count)
{
    if (s == NULL || count == NULL)
        return NULL;
    size_t cap = 4, n = 0;
    char **parts = malloc(cap * sizeof(char *));
    if (parts == NULL)
        return NULL;
    char **slot = parts;                   /* where the next field goes */
    const char *start = s;
    for (;;) {
        const char *end = start;
        while (*end != '\0' && *end != sep)
            end++;
        if (n == cap) {
            char **bigger = realloc(parts, 2 * cap * sizeof(char *));
            if (bigger == NULL) {
                str_split_free(parts, n);
                return NULL;
            }
            parts = bigger;
            cap *= 2;
        }
        size_t len = (size_t)(end - start);
        *slot = malloc(len + 1);
        if (*slot == NULL) {
            str_split_free(parts, n);
            return NULL;
        }
        memcpy(*slot, start, len);
        (*slot)[len] = '\0';
        slot++;
        n++;
        if (*end == '\0')
            break;
        start = end + 1;
    }
    *count = n;
    return parts;
}

void str_split_free(char **parts, size_t count)
{
    if (parts == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        free(parts[i]);
    free(parts);
}
