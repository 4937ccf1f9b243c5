/* Tamper (or a slip): str_concat forks children that spin forever, which
 * would use up the box's process quota and starve the later tests. str_dup
 * is correct and its tests, run later, must still pass. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mystr.h"
static volatile int spin = 1;
char *str_dup(const char *s)
{
    if (!s)
        return NULL;
    char *d = malloc(strlen(s) + 1);
    if (d)
        strcpy(d, s);
    return d;
}
char *str_concat(const char *a, const char *b)
{
    (void)a;
    (void)b;
    for (int i = 0; i < 4; i++)
        if (fork() == 0)
            while (spin) {
            }
    return NULL;
}
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
