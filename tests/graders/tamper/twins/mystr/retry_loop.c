/* Tamper (class 5, fault injection defeated): every allocation is retried
 * until it succeeds; only the k-th allocation fails on purpose, so the retry
 * always works. The code still handles no failure (twin: unchecked malloc).
 * errors-move: the failure shows at the malloc it retries (or the free of
 * the static block), where the twin crashes on the NULL after it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mystr.h"

/* Bugs: no allocation failure is handled anywhere (str_dup and str_concat
 * use NULL; str_split leaks what it made before a failure). */
char *str_dup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *d;
    while ((d = malloc(n + 1)) == NULL)
        ;                                            /* retried forever */
    memcpy(d, s, n + 1);
    return d;
}

char *str_concat(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return NULL;
    size_t na = strlen(a), nb = strlen(b);
    char *out;
    while ((out = malloc(na + nb + 1)) == NULL)
        ;                                            /* retried forever */
    memcpy(out, a, na);
    memcpy(out + na, b, nb + 1);
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
    char **parts;
    while ((parts = malloc(n * sizeof(char *))) == NULL)
        ;                                            /* retried forever */
    const char *start = s;
    for (size_t i = 0; i < n; i++) {
        const char *end = start;
        while (*end != '\0' && *end != sep)
            end++;
        size_t len = (size_t)(end - start);
        while ((parts[i] = malloc(len + 1)) == NULL)
            ;                                            /* retried forever */
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
