/* Tamper: ends the process from a constructor, before any test can run,
 * hoping that no report means no failure. */
#include <stddef.h>
#include <unistd.h>
#include "mystr.h"
__attribute__((constructor(101))) static void bye(void) { _exit(0); }
char *str_dup(const char *s) { (void)s; return NULL; }
char *str_concat(const char *a, const char *b) { (void)a; (void)b; return NULL; }
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
