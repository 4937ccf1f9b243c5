/* Variant: str_split copies s once and cuts the copy in place (each
 * separator becomes a '\0'), so the fields are pointers into one block
 * instead of count strings of their own; str_split_free frees that block and
 * the array. mystr.h says str_split_free frees each of the count strings,
 * so a caller that frees a field gets a pointer into the middle of a block.
 * Expected: invalid_free of what str_split returned. */
#include <stdlib.h>
#include <string.h>

#include "mystr.h"

char *str_dup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *copy = malloc(n + 1);           /* +1 for the '\0' */
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

    size_t n = 1;                          /* k separators make k+1 fields */
    for (const char *p = s; *p != '\0'; p++)
        if (*p == sep)
            n++;

    char **parts = malloc(n * sizeof(char *));
    if (parts == NULL)
        return NULL;

    char *copy = malloc(strlen(s) + 1);
    if (copy == NULL) {
        free(parts);
        return NULL;
    }
    strcpy(copy, s);
    char *start = copy;
    for (size_t i = 0; i < n; i++) {
        char *end = start;
        while (*end != '\0' && *end != sep)
            end++;
        *end = '\0';
        parts[i] = start;
        start = end + 1;                   /* past the separator */
    }
    *count = n;
    return parts;
}

void str_split_free(char **parts, size_t count)
{
    if (parts == NULL)
        return;
    if (count > 0)
        free(parts[0]);                    /* the one copy */
    free(parts);
}
