/* Failing-allocation mode for unit tests (STYLE 11): code compiled with
 * -include fi.h allocates through these, and fi_fail_at = N makes the Nth
 * allocation from then on fail (0: none fails). */
#ifndef MEMGRADE_TEST_FI_H
#define MEMGRADE_TEST_FI_H
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
extern long fi_fail_at, fi_count, fi_injected;
void *fi_malloc(size_t n);
void *fi_calloc(size_t n, size_t m);
void *fi_realloc(void *p, size_t n);
char *fi_strdup(const char *s);
#define malloc(n) fi_malloc(n)
#define calloc(n, m) fi_calloc(n, m)
#define realloc(p, n) fi_realloc(p, n)
#define strdup(s) fi_strdup(s)
#endif
