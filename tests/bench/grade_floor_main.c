/* The floor of grade_bench.sh: the least a grader must do for a
 * function-level assignment, i.e. compile the student's file with the test
 * driver and run every test once in one process, observations printed. Also
 * what valgrind runs. No checks, no isolation, no fault injection. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "mgt.h"

void mgt_obs_str(const char *key, const char *s) { printf("%s %s\n", key, s ? s : "NULL"); }
void mgt_obs_int(const char *key, long long v) { printf("%s %lld\n", key, v); }
void mgt_obs_uint(const char *key, unsigned long long v) { printf("%s %llu\n", key, v); }
void mgt_obs_ptr_null(const char *key, const void *p) { printf("%s %s\n", key, p ? "nonnull" : "NULL"); }
void mgt_obs(const char *key, const char *fmt, ...)
{
    va_list ap;
    printf("%s ", key);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}
void mgt_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}
unsigned long mgt_alloc_calls(void) { return 0; }
int mgt_alloc_failed(void) { return 0; }
unsigned long mgt_heap_live(void) { return 0; }
void mgt_free_result(void *p, const void *fn) { (void)fn; free(p); }

int main(void)
{
    for (const mgt_test *t = mgt_tests; t->fn; t++)
        t->fn();
    return 0;
}
