/* Tamper: exits with status 0 from inside the student's functions, as if
 * the test had finished. */
#include <stdlib.h>
#include "mystr.h"
char *str_dup(const char *s) { (void)s; exit(0); }
char *str_concat(const char *a, const char *b) { (void)a; (void)b; _exit(0); }
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; exit(0); }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
