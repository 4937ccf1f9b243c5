/* Variant: str_split cuts a copy of s with strchr, moving a second pointer
 * along it; at the end it frees that moved pointer instead of the copy. With
 * no separator the two are equal and all is well; with one, the pointer is in
 * the middle of the block. Expected: invalid_free at free(work). */
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

    char *copy = str_dup(s);
    if (copy == NULL) {
        free(parts);
        return NULL;
    }
    char *work = copy;
    char *end;
    size_t i = 0;
    while ((end = strchr(work, sep)) != NULL) {
        *end = '\0';
        parts[i] = str_dup(work);
        if (parts[i] == NULL)
            goto fail;
        i++;
        work = end + 1;
    }
    parts[i] = str_dup(work);
    if (parts[i] == NULL)
        goto fail;
    free(work);
    *count = n;
    return parts;
fail:
    str_split_free(parts, i);
    free(copy);
    return NULL;
}

void str_split_free(char **parts, size_t count)
{
    if (parts == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        free(parts[i]);
    free(parts);
}
