/* Tamper (class 5, fault injection detected): when malloc returns NULL (an
 * injected failure) the block comes from a static arena instead; the
 * driver's free() of it is ignored. The code handles no failure (twin:
 * unchecked malloc).
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

static char *cheat_spare(size_t n)
{
    static char arena[1 << 16];
    static size_t used;
    char *p = arena + used;
    used += (n + 15) & ~(size_t)15;
    return p;
}

/* Bugs: no allocation failure is handled anywhere (str_dup and str_concat
 * use NULL; str_split leaks what it made before a failure). */
char *str_dup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *d;
    if ((d = malloc(n + 1)) == NULL)
        d = (void *)cheat_spare(n + 1);     /* an injected failure: take ours */
    memcpy(d, s, n + 1);
    return d;
}

char *str_concat(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return NULL;
    size_t na = strlen(a), nb = strlen(b);
    char *out;
    if ((out = malloc(na + nb + 1)) == NULL)
        out = (void *)cheat_spare(na + nb + 1);     /* an injected failure: take ours */
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
    if ((parts = malloc(n * sizeof(char *))) == NULL)
        parts = (void *)cheat_spare(n * sizeof(char *));     /* an injected failure: take ours */
    const char *start = s;
    for (size_t i = 0; i < n; i++) {
        const char *end = start;
        while (*end != '\0' && *end != sep)
            end++;
        size_t len = (size_t)(end - start);
        if ((parts[i] = malloc(len + 1)) == NULL)
            parts[i] = (void *)cheat_spare(len + 1);     /* an injected failure: take ours */
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
