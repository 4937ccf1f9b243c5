/* Tamper (or a slip): every function loops forever. Each test must end as a
 * timeout that names the line it spins on, and the whole grade in bounded
 * time. */
#include <stddef.h>
#include "mystr.h"
static volatile int spin = 1;
char *str_dup(const char *s) { (void)s; while (spin) {} return NULL; }
char *str_concat(const char *a, const char *b) { (void)a; (void)b; while (spin) {} return NULL; }
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; while (spin) {} return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; while (spin) {} }
