/* Tamper (or a slip): every call prints megabytes, which would reach the
 * sandbox's output limit and stop the run. str_dup is otherwise correct and
 * must still get its points. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mystr.h"
static void chatter(void)
{
    static char line[4096];
    memset(line, 'x', sizeof line - 1);
    for (int i = 0; i < 512; i++)
        puts(line);
}
char *str_dup(const char *s)
{
    chatter();
    if (!s)
        return NULL;
    char *d = malloc(strlen(s) + 1);
    if (d)
        strcpy(d, s);
    return d;
}
char *str_concat(const char *a, const char *b) { chatter(); (void)a; (void)b; return NULL; }
char **str_split(const char *s, char sep, size_t *count) { chatter(); (void)s; (void)sep; (void)count; return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
