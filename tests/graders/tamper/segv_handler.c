/* Tamper: str_dup overflows its block by one byte; a SIGSEGV handler tries
 * to jump over the fault so the overflow goes unseen. */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "mystr.h"
static sigjmp_buf back;
static void skip(int sig) { (void)sig; siglongjmp(back, 1); }
__attribute__((constructor)) static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = skip;
    sigaction(SIGSEGV, &sa, NULL);
    signal(SIGBUS, skip);
}
char *str_dup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n);
    if (!d)
        return NULL;
    if (!sigsetjmp(back, 1))
        memcpy(d, s, n + 1);
    return d;
}
char *str_concat(const char *a, const char *b)
{
    if (!a || !b)
        return NULL;
    char *d = malloc(strlen(a) + strlen(b) + 1);
    if (!d)
        return NULL;
    strcpy(d, a);
    strcat(d, b);
    return d;
}
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
