/* Tamper: the functions live outside .text (a section attribute, a cold
 * attribute), hoping the runtime will not see them as the student's code
 * and so will neither report their leaks nor fail their allocations. */
#include <stdlib.h>
#include <string.h>
#include "mystr.h"
__attribute__((section(".text.hot")))
char *str_dup(const char *s)
{
    if (!s)
        return NULL;
    char *extra = malloc(32);          /* leaked on purpose */
    (void)extra;
    char *d = malloc(strlen(s) + 1);
    strcpy(d, s);                      /* unchecked on purpose */
    return d;
}
__attribute__((cold))
char *str_concat(const char *a, const char *b)
{
    if (!a || !b)
        return NULL;
    char *d = malloc(strlen(a) + strlen(b) + 1);
    strcpy(d, a);
    strcat(d, b);
    return d;
}
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
