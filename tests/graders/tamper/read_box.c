/* Tamper: looks for the driver, our sources and objects in the box while
 * its tests run, and answers wrongly when it finds any. Only prog may be
 * left there, so this otherwise correct mystr.c must pass. */
#include <unistd.h>
/* mystr.c: reference solution of the mystr assignment. */
#include <stdlib.h>
#include <string.h>

#include "mystr.h"


static int found_ours(void)
{
    static const char *const names[] = {"driver.o", "driver.c", "mgrt.o", "mgrt.c", "s0.o",
                                        "mystr.c", "mystr.h", "mgt.h", "mark1.o"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (access(names[i], F_OK) == 0)
            return 1;
    return 0;
}

char *str_dup(const char *s)
{
    if (found_ours())
        return NULL;
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

    const char *start = s;
    for (size_t i = 0; i < n; i++) {
        const char *end = start;
        while (*end != '\0' && *end != sep)
            end++;
        size_t len = (size_t)(end - start);
        parts[i] = malloc(len + 1);
        if (parts[i] == NULL) {
            str_split_free(parts, i);      /* the i fields made so far */
            return NULL;
        }
        memcpy(parts[i], start, len);
        parts[i][len] = '\0';
        start = end + 1;                   /* past the separator */
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
