/* Debugging with printf (or trying to print a hidden test's input): str_dup
 * prints its argument and returns a copy one byte short. A failed visible
 * test shows what the code printed; a test the student does not see runs in
 * a program whose printing nobody keeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mystr.h"

char *str_dup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    printf("input: %.40s (%zu bytes)\n", s, n);
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, n + 1);
    if (n > 0)
        copy[n - 1] = '\0';
    return copy;
}

char *str_concat(const char *a, const char *b)
{
    (void)a;
    (void)b;
    return NULL;
}

char **str_split(const char *s, char sep, size_t *count)
{
    (void)s;
    (void)sep;
    (void)count;
    return NULL;
}

void str_split_free(char **parts, size_t count)
{
    (void)parts;
    (void)count;
}
