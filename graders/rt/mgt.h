/* mgt: what an assignment's test driver uses (graders/DRIVER.md §2). The
 * grader supplies main (a fork server running each test in a fresh child);
 * the driver only observes, the engine decides pass/fail outside the box. */
#ifndef MEMGRADE_MGT_H
#define MEMGRADE_MGT_H

#include <stddef.h>

typedef struct {
    const char *name;
    void (*fn)(void);
} mgt_test;

/* The driver's table of tests, ended by a {NULL, NULL} entry. The engine
 * also builds the driver with the visible tests alone (MGT_SELECT): each
 * test's MGT_PICK_name macro then keeps it or leaves an empty entry, and
 * the hidden tests' code and inputs are not in that program at all. */
#ifdef MGT_SELECT
#define MGT_TEST(f) MGT_PICK_##f(f)
#else
#define MGT_TEST(f) { #f, f }
#endif
#define MGT_TESTS(...) const mgt_test mgt_tests[] = { __VA_ARGS__ { 0, 0 } };
extern const mgt_test mgt_tests[];

/* Observations: one key ([a-z0-9_]+, <= 48 bytes) and one line of text
 * (<= 1024 bytes). A key observed twice keeps its last value. */
void mgt_obs_str(const char *key, const char *s);   /* NULL or "escaped" */
void mgt_obs_int(const char *key, long long v);
void mgt_obs_uint(const char *key, unsigned long long v);
void mgt_obs_ptr_null(const char *key, const void *p); /* NULL or nonnull */
void mgt_obs(const char *key, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Fails the current test with a message for the student. */
void mgt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Frees p, which the student's function fn returned (NULL is a no-op). A
 * pointer that is not a live block the student's code allocated (a global,
 * a string literal, a local array, the test's own memory, the middle of a
 * block) is fn's invalid_free, located at fn; one already freed is its
 * double_free. Use it wherever the driver frees a student function's
 * result itself: MGT_FREE(p, str_dup). */
void mgt_free_result(void *p, const void *fn);
#define MGT_FREE(p, fn) mgt_free_result((p), (const void *)(fn))

/* Allocator calls made so far in this test on behalf of the student's code. */
unsigned long mgt_alloc_calls(void);
/* Nonzero once an injected allocation failure happened in this run. */
int mgt_alloc_failed(void);
/* Live heap blocks allocated by the student's code. */
unsigned long mgt_heap_live(void);

#endif
