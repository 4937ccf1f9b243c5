/* Tamper: brings its own malloc/free (a bump allocator whose free does
 * nothing) so that leaks and overflows go unseen. Must not link. */
#include <stddef.h>
#include <string.h>
#include "mystr.h"
static char arena[1 << 20];
static size_t used;
void *malloc(size_t n) { void *p = arena + used; used += (n + 15) & ~(size_t)15; return p; }
void free(void *p) { (void)p; }
char *str_dup(const char *s) { if (!s) return NULL; char *d = malloc(strlen(s)); strcpy(d, s); return d; }
char *str_concat(const char *a, const char *b) { if (!a || !b) return NULL; char *d = malloc(strlen(a) + strlen(b) + 1); strcpy(d, a); strcat(d, b); return d; }
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
