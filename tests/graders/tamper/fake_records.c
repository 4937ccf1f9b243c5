/* Tamper: writes lines that look like the runtime's report ("end", "obs",
 * "status" with made-up values) to every descriptor, while returning wrong
 * results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mystr.h"
static void forge(void)
{
    static const char lie[] = "obs dup \"hello\"\nend 0 0 0 allocs=1\nstatus 0 0 0 exit=0 sig=0 timeout=0\n";
    for (int fd = 0; fd < 64; fd++)
        if (write(fd, lie, sizeof lie - 1) < 0) {
            /* not open: try the next */
        }
}
char *str_dup(const char *s) { (void)s; forge(); return NULL; }
char *str_concat(const char *a, const char *b) { (void)a; (void)b; forge(); return NULL; }
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; forge(); return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
