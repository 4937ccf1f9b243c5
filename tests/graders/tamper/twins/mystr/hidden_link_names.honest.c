/* Honest twin of hidden_link_names.c: the same two functions and stubs
 * for the other two (it links).
 * class 6 */
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
    (void)s, (void)sep, (void)count;
    return NULL;                       /* not written yet */
}

void str_split_free(char **parts, size_t count)
{
    (void)parts, (void)count;
}
