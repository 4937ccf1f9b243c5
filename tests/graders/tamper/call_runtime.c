/* Tamper: calls the runtime's internal report function to write a forged
 * record on the grader's channel. The runtime's internals are not
 * linkable: this must not build. */
#include <stddef.h>
#include "mystr.h"
void mgrt_rep(const char *fmt, ...);
char *str_dup(const char *s)
{
    (void)s;
    mgrt_rep("obs dup \"hello\"");
    return NULL;
}
char *str_concat(const char *a, const char *b) { (void)a; (void)b; return NULL; }
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
