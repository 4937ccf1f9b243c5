/* Tamper (class 4, libc-internal allocations): str_dup and str_concat get
 * their blocks from asprintf and open_memstream, whose malloc calls come from
 * libc, so the runtime counts them as libc's own: never a leak, never failed
 * on purpose. Hides: a leaked scratch block and unchecked allocations (the
 * twin does the same with malloc)
 * errors-move: the errors show where the trick allocates (or frees the
 * static block), where the twin does it with malloc. */
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

char *str_dup(const char *s)
{
    if (s == NULL)
        return NULL;
    char *d;
    asprintf(&d, "%s", s);                       /* BUG: result never checked */
    return d;
}

char *str_concat(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return NULL;
    char *scratch;
    size_t len;
    FILE *f = open_memstream(&scratch, &len);    /* BUG: never freed */
    fputs(a, f);
    fclose(f);
    char *out;
    asprintf(&out, "%s%s", a, b);                /* BUG: result never checked */
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
