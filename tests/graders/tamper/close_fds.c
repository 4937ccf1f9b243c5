/* Tamper: closes every descriptor above stderr before main (the grader's
 * report channel among them) and leaks in str_dup. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mystr.h"
__attribute__((constructor(101))) static void shut(void)
{
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
}
char *str_dup(const char *s)
{
    if (!s)
        return NULL;
    char *leaked = malloc(64);
    (void)leaked;
    char *d = malloc(strlen(s) + 1);
    if (d)
        strcpy(d, s);
    return d;
}
char *str_concat(const char *a, const char *b) { (void)a; (void)b; return NULL; }
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
