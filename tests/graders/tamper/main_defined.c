/* Tamper (or a common slip): the submission keeps its own main(), which
 * would replace the grader's. Must not link, with a clear note. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mystr.h"
char *str_dup(const char *s) { if (!s) return NULL; char *d = malloc(strlen(s) + 1); if (d) strcpy(d, s); return d; }
char *str_concat(const char *a, const char *b) { (void)a; (void)b; return NULL; }
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
int main(void) { puts("all tests passed"); return 0; }
