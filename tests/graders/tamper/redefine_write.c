/* Tamper: defines write() (which the grader's runtime uses to report) and
 * strcmp() (which drivers use), to drop reports and fool comparisons.
 * Must be refused at build time. */
#include <stddef.h>
#include <sys/types.h>
#include "mystr.h"
ssize_t write(int fd, const void *buf, size_t n) { (void)fd; (void)buf; return (ssize_t)n; }
int strcmp(const char *a, const char *b) { (void)a; (void)b; return 0; }
char *str_dup(const char *s) { (void)s; return NULL; }
char *str_concat(const char *a, const char *b) { (void)a; (void)b; return NULL; }
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
