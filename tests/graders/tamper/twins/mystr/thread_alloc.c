/* Tamper (class 4, an allocation that does not look like the student's): an
 * allocation is the student's when their code is on its stack; malloc
 * started as a thread's function has only the C library's start-up frames
 * there, and its block used to count as nobody's: never a leak, never
 * failed on purpose. Hides: a leak in str_concat. (errors-move: the leak
 * is found, at the thread's allocation, whose stack holds none of the
 * submission's lines.) */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mystr.h"

/* Bug: str_concat leaks a scratch block. */
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
    /* the trick: malloc runs as a thread's start function, so none of the
     * submission's code is on its stack */
    void *scratch = NULL;
    pthread_t t;
    if (pthread_create(&t, NULL, (void *(*)(void *))malloc, (void *)(uintptr_t)(na + nb + 1)) == 0)
        pthread_join(t, &scratch);
    char *out = malloc(na + nb + 1);
    if (out == NULL || scratch == NULL) {
        free(out);
        free(scratch);
        return NULL;
    }
    memcpy(scratch, a, na);                    /* BUG: scratch is never freed */
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
