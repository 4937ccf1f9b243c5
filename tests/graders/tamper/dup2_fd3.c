/* Tamper: points descriptors 3..63 at /dev/null before main, then leaks. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mystr.h"
__attribute__((constructor(101))) static void hide(void)
{
    int fd = open("/dev/null", O_WRONLY);
    for (int i = 3; i < 64; i++)
        if (i != fd)
            dup2(fd, i);
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
