/* Honest twin of libc_internal_alloc.c: the same bugs, no trick. */
#include <stdlib.h>
#include <string.h>
#include "mystr.h"
#include <stdio.h>

char *str_dup(const char *s)
{
    if (s == NULL)
        return NULL;
    char *d = malloc(strlen(s) + 1);
    sprintf(d, "%s", s);                         /* BUG: result never checked */
    return d;
}

char *str_concat(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return NULL;
    char *scratch = malloc(strlen(a) + 1);       /* BUG: never freed */
    strcpy(scratch, a);
    char *out = malloc(strlen(a) + strlen(b) + 1);
    sprintf(out, "%s%s", a, b);                  /* BUG: result never checked */
    return out;
}

char **str_split(const char *s, char sep, size_t *count)
{
    if (s == NULL || count == NULL)
        return NULL;
    size_t n = 1;
    for (const char *p = s; *p != '\0'; p++)
        if (*p == sep)
            n++;
    char **parts = malloc(n * sizeof(char *));
    if (parts == NULL)
        return NULL;
    const char *start = s;
    for (size_t i = 0; i < n; i++) {
        const char *end = start;
        while (*end != '\0' && *end != sep)
            end++;
        size_t len = (size_t)(end - start);
        parts[i] = malloc(len + 1);
        if (parts[i] == NULL) {
            for (size_t j = 0; j < i; j++)
                free(parts[j]);
            free(parts);
            return NULL;
        }
        memcpy(parts[i], start, len);
        parts[i][len] = '\0';
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
