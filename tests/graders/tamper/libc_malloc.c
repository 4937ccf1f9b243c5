/* Tamper: allocates through glibc's internal names (__libc_malloc,
 * __libc_calloc) to bypass the grader's allocator. str_dup forgets the +1
 * for '\0' and str_concat leaks a block: both must still be seen. */
#include <stddef.h>
#include <string.h>
#include "mystr.h"
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
char *str_dup(const char *s)
{
    if (!s)
        return NULL;
    char *d = __libc_malloc(strlen(s));
    if (d)
        strcpy(d, s);
    return d;
}
char *str_concat(const char *a, const char *b)
{
    if (!a || !b)
        return NULL;
    char *scratch = __libc_calloc(4, 8);
    (void)scratch;
    char *d = __libc_malloc(strlen(a) + strlen(b) + 1);
    if (!d)
        return NULL;
    strcpy(d, a);
    strcat(d, b);
    return d;
}
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
