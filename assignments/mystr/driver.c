/* Test driver of the mystr assignment (graders/DRIVER.md §2): calls the
 * student's functions and observes what they return; the engine compares the
 * observations with the manifest outside the sandbox.
 * What str_dup and str_concat return is released with MGT_FREE(p, fn), not
 * free(): a result that did not come from malloc (a static or stack buffer,
 * a string literal, an input pointer, the middle of a block) is then the
 * student's invalid_free, located at fn. */
#define _POSIX_C_SOURCE 200809L          /* strnlen */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgt.h"
#include "mystr.h"

/* Observes s as a string the test expects to be at most max characters
 * long, reading no more than max + 1 bytes of it: a result missing its '\0'
 * then shows the bytes that follow (observed differently under different
 * heap fill bytes) instead of running off the end of its block here. */
static void obs_text(const char *key, const char *s, size_t max)
{
    static char buf[1100];
    if (s == NULL) {
        mgt_obs_str(key, NULL);
        return;
    }
    if (max > 1000)
        max = 1000;
    size_t n = strnlen(s, max + 1);
    memcpy(buf, s, n);
    buf[n] = '\0';
    mgt_obs_str(key, buf);
}

/* Observes whether p is a block of its own: "new block", "NULL", or the
 * input pointer handed back. */
static void obs_block(const char *p, const char *in1, const char *in2)
{
    mgt_obs("block", "%s", p == NULL ? "NULL" : p == in1 || p == in2
                             ? "an input pointer, not a new block" : "new block");
}

/* 64-bit FNV-1a of the first n bytes: how long results are observed. */
static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Observes a long result as "LEN:HASH". */
static void obs_long(const char *key, const char *s, size_t max)
{
    if (s == NULL) {
        mgt_obs_str(key, NULL);
        return;
    }
    size_t n = strnlen(s, max + 1);
    mgt_obs(key, "%zu:%016llx", n, (unsigned long long)fnv(s, n));
}

/* Fills buf (n + 1 bytes) with n characters of a repeating pattern. */
static char *pattern(char *buf, size_t n, const char *alphabet)
{
    size_t k = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        buf[i] = alphabet[i % k];
    buf[n] = '\0';
    return buf;
}

/* Frees what str_split returned the way the header lays it out (count
 * strings, then the array), with the driver's own code: every test but the
 * str_split_free ones cleans up here, so a bug in str_split_free costs its
 * own tests and no other. A field or array that was never a heap block of
 * its own is str_split's invalid_free (MGT_FREE). */
static void release_split(char **parts, size_t count)
{
    if (parts == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        MGT_FREE(parts[i], str_split);
    MGT_FREE(parts, str_split);
}

/* Splits s and observes "parts" (NULL or nonnull), "count" and each field as
 * f0, f1, ... (at most 8 of them, each at most max characters). */
static void split_and_observe(const char *prefix, const char *s, char sep, size_t max)
{
    char key[48];
    size_t count = 0;
    char **parts = str_split(s, sep, &count);
    snprintf(key, sizeof key, "%sparts", prefix);
    mgt_obs_ptr_null(key, parts);
    if (parts == NULL)
        return;
    snprintf(key, sizeof key, "%scount", prefix);
    mgt_obs_uint(key, count);
    for (size_t i = 0; i < count && i < 8; i++) {
        snprintf(key, sizeof key, "%sf%zu", prefix, i);
        obs_text(key, parts[i], max);
    }
    release_split(parts, count);
}

/* ---- str_dup ------------------------------------------------------------ */

static void dup_basic(void)
{
    char src[] = "hello";
    char *p = str_dup(src);
    obs_block(p, src, src);
    src[0] = 'j';                       /* the copy must not change */
    obs_text("dup", p, 5);
    MGT_FREE(p, str_dup);
}

static void dup_empty(void)
{
    char *p = str_dup("");
    obs_text("dup", p, 0);
    MGT_FREE(p, str_dup);
}

static void dup_null(void)
{
    char *p = str_dup(NULL);
    mgt_obs_str("dup", p);
    MGT_FREE(p, str_dup);
}

static void dup_long(void)
{
    static char src[20001];
    pattern(src, 20000, "The quick brown fox jumps over the lazy dog. ");
    char *p = str_dup(src);
    obs_long("dup", p, 20000);
    MGT_FREE(p, str_dup);
}

static void dup_odd_bytes(void)
{
    char *p = str_dup("ctrl\x01here \"quoted\" \\ \xc3\xa9t\xc3\xa9\n");
    obs_text("dup", p, 40);
    MGT_FREE(p, str_dup);
}

/* ---- str_concat --------------------------------------------------------- */

static void concat_basic(void)
{
    char *p = str_concat("foo", "bar");
    obs_text("cat", p, 6);
    MGT_FREE(p, str_concat);
}

static void concat_empty(void)
{
    char *p = str_concat("", "abc");
    obs_text("cat_left_empty", p, 3);
    MGT_FREE(p, str_concat);
    p = str_concat("abc", "");
    obs_text("cat_right_empty", p, 3);
    MGT_FREE(p, str_concat);
    p = str_concat("", "");
    obs_text("cat_both_empty", p, 0);
    MGT_FREE(p, str_concat);
}

static void concat_null(void)
{
    char *p = str_concat(NULL, "x");
    mgt_obs_str("cat_null_left", p);
    MGT_FREE(p, str_concat);
    p = str_concat("x", NULL);
    mgt_obs_str("cat_null_right", p);
    MGT_FREE(p, str_concat);
    p = str_concat(NULL, NULL);
    mgt_obs_str("cat_null_both", p);
    MGT_FREE(p, str_concat);
}

static void concat_medium(void)
{
    char *p = str_concat("memory is virtual, ", "addresses are too");
    obs_text("cat", p, 36);
    MGT_FREE(p, str_concat);
}

static void concat_long(void)
{
    static char a[6001], b[4001];
    pattern(a, 6000, "abcdefghij");
    pattern(b, 4000, "0123456789");
    char *p = str_concat(a, b);
    obs_long("cat", p, 10000);
    MGT_FREE(p, str_concat);
}

static void concat_keeps_inputs(void)
{
    char a[] = "left", b[] = "right";
    char *p = str_concat(a, b);
    obs_block(p, a, b);
    a[0] = 'X';
    b[0] = 'Y';
    obs_text("cat", p, 9);
    obs_text("a_after", a, 4);
    MGT_FREE(p, str_concat);
}

/* ---- str_split ---------------------------------------------------------- */

static void split_basic(void)
{
    split_and_observe("", "a,b,c", ',', 1);
}

static void split_other_sep(void)
{
    split_and_observe("", "/usr/local/bin", '/', 5);
}

static void split_empty_fields(void)
{
    split_and_observe("", "a,,b", ',', 1);
}

static void split_empty_string(void)
{
    split_and_observe("", "", ',', 0);
}

static void split_no_sep(void)
{
    split_and_observe("", "no separator here", ',', 17);
}

static void split_edges(void)
{
    split_and_observe("lead_trail_", ",a,", ',', 1);
    split_and_observe("only_seps_", ",,", ',', 0);
    split_and_observe("one_sep_", ",", ',', 0);
    split_and_observe("trailing_", "x,y,", ',', 1);
}

static void split_null(void)
{
    size_t count = 42;
    char **parts = str_split(NULL, ',', &count);
    mgt_obs_ptr_null("null_s", parts);
    release_split(parts, 0);
    parts = str_split("a,b", ',', NULL);
    mgt_obs_ptr_null("null_count", parts);
    release_split(parts, 0);
}

static void split_free_null(void)
{
    str_split_free(NULL, 0);
    str_split_free(NULL, 3);
    mgt_obs("str_split_free", "returned");
}

/* The only test (with split_free_null) that cleans up through
 * str_split_free: a field or the array it leaves allocated is a leak, one
 * it frees twice or reads after freeing it an error, here and nowhere else. */
static void split_free_all(void)
{
    size_t count = 0;
    char **parts = str_split("a,bb,,ccc", ',', &count);
    str_split_free(parts, count);
    static char s[1200];
    size_t at = 0;
    for (int i = 0; i < 200; i++)
        at += (size_t)snprintf(s + at, sizeof s - at, i ? ":%d" : "%d", i);
    count = 0;
    parts = str_split(s, ':', &count);
    mgt_obs_uint("count", parts != NULL ? count : 0);
    str_split_free(parts, count);
    mgt_obs("str_split_free", "returned");
}

static void split_many(void)
{
    /* 2000 fields "0,1,2,...,1999" */
    static char s[12000];
    size_t at = 0;
    for (int i = 0; i < 2000; i++)
        at += (size_t)snprintf(s + at, sizeof s - at, i ? ",%d" : "%d", i);
    size_t count = 0;
    char **parts = str_split(s, ',', &count);
    mgt_obs_ptr_null("parts", parts);
    if (parts == NULL)
        return;
    mgt_obs_uint("count", count);
    /* hash the fields in order, each followed by a newline */
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < count && i < 2000; i++) {
        size_t n = strnlen(parts[i], 4);
        for (size_t j = 0; j <= n; j++) {
            h ^= j < n ? (unsigned char)parts[i][j] : '\n';
            h *= 1099511628211ULL;
        }
    }
    mgt_obs("fields", "%016llx", (unsigned long long)h);
    obs_text("last", count ? parts[count - 1] : NULL, 4);
    release_split(parts, count);
}

static void split_long_field(void)
{
    static char s[9001];
    pattern(s, 9000, "xyz");
    s[3000] = ';';
    s[6000] = ';';
    size_t count = 0;
    char **parts = str_split(s, ';', &count);
    mgt_obs_ptr_null("parts", parts);
    if (parts == NULL)
        return;
    mgt_obs_uint("count", count);
    for (size_t i = 0; i < count && i < 3; i++) {
        char key[8];
        snprintf(key, sizeof key, "f%zu", i);
        obs_long(key, parts[i], 3000);
    }
    release_split(parts, count);
}

/* ---- allocation failure (each allocation of the test fails in turn) ---- */

static void dup_alloc_failure(void)
{
    char *p = str_dup("hello");
    obs_text("dup", p, 5);
    MGT_FREE(p, str_dup);
}

static void concat_alloc_failure(void)
{
    char *p = str_concat("foo", "bar");
    obs_text("cat", p, 6);
    MGT_FREE(p, str_concat);
}

static void split_alloc_failure(void)
{
    split_and_observe("", "ab,,c,def", ',', 3);
}

MGT_TESTS(
    MGT_TEST(dup_basic),
    MGT_TEST(dup_empty),
    MGT_TEST(dup_null),
    MGT_TEST(dup_long),
    MGT_TEST(dup_odd_bytes),
    MGT_TEST(concat_basic),
    MGT_TEST(concat_empty),
    MGT_TEST(concat_null),
    MGT_TEST(concat_medium),
    MGT_TEST(concat_long),
    MGT_TEST(concat_keeps_inputs),
    MGT_TEST(split_basic),
    MGT_TEST(split_other_sep),
    MGT_TEST(split_empty_fields),
    MGT_TEST(split_empty_string),
    MGT_TEST(split_no_sep),
    MGT_TEST(split_edges),
    MGT_TEST(split_null),
    MGT_TEST(split_free_null),
    MGT_TEST(split_free_all),
    MGT_TEST(split_many),
    MGT_TEST(split_long_field),
    MGT_TEST(dup_alloc_failure),
    MGT_TEST(concat_alloc_failure),
    MGT_TEST(split_alloc_failure),
)
