/* Allocation failure as a tested path: the submission parser (JSON and
 * multipart) and the response cache run with the 1st, 2nd, ... allocation
 * failing (ours and Jansson's), until a run where none fails. Every run
 * must end in a clean refusal or the normal result, never a crash; the ASan
 * build (MEMGRADE_SANITIZE=ON) also proves nothing leaks on those paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_cache.h"
#include "api_submit.h"

long fi_fail_at, fi_count, fi_injected;

static int fail_now(void)
{
    if (fi_fail_at && ++fi_count == fi_fail_at) {
        fi_injected++;
        return 1;
    }
    return 0;
}
#undef malloc
#undef calloc
#undef realloc
#undef strdup
void *fi_malloc(size_t n) { return fail_now() ? NULL : malloc(n); }
void *fi_calloc(size_t n, size_t m) { return fail_now() ? NULL : calloc(n, m); }
void *fi_realloc(void *p, size_t n) { return fail_now() ? NULL : realloc(p, n); }
char *fi_strdup(const char *s) { return fail_now() ? NULL : strdup(s); }

static int failures;
#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) { printf("FAIL " __VA_ARGS__); printf("\n"); failures++; } \
    } while (0)

typedef int (*scenario)(const grd_catalog *c);

static int json_case(const grd_catalog *c)
{
    static const char body[] = "{\"assignment\":\"mystr\",\"files\":{\"mystr.c\":\"int x;\\n\"}}";
    api_sub *s = api_sub_new(c, 1024, 4096);
    if (!s)
        return 500;
    int st = api_sub_json(s, body, strlen(body));
    if (!st)
        st = api_sub_finish(s);
    uint8_t d[32];
    if (!st && api_sub_digest(s, d))
        st = 500;
    api_sub_free(s);
    return st;
}

static int multipart_case(const grd_catalog *c)
{
    api_sub *s = api_sub_new(c, 1024, 4096);
    if (!s)
        return 500;
    int st = api_sub_part(s, "assignment", NULL, "my", 0, 2);
    if (!st) st = api_sub_part(s, "assignment", NULL, "str", 2, 3);
    if (!st) st = api_sub_part(s, "f", "mystr.c", "int ", 0, 4);
    if (!st) st = api_sub_part(s, "f", "mystr.c", "x;\n", 4, 3);
    if (!st) st = api_sub_finish(s);
    uint8_t d[32];
    if (!st && api_sub_digest(s, d))
        st = 500;
    api_sub_free(s);
    return st;
}

static int cache_case(const grd_catalog *c)
{
    (void)c;
    api_cache *k = api_cache_new(8, 1024, 0);
    if (!k)
        return 500;
    api_cache_put(k, 1, "hello", 5);
    char *v = NULL;
    size_t len = 0;
    int hit = !api_cache_get(k, 1, &v, &len);
    int st = hit && len == 5 && !memcmp(v, "hello", 5) ? 0 : 500;
    free(v);
    api_cache_free(k);
    return st;
}

static void run(const char *name, scenario f, const grd_catalog *c)
{
    long n;
    for (n = 1; n < 10000; n++) {
        fi_fail_at = n;
        fi_count = fi_injected = 0;
        int st = f(c);
        if (!fi_injected) {
            CHECK(st == 0, "%s: with no failure the result is 0, not %d", name, st);
            break;
        }
        CHECK(st == 400 || st == 500 || st == 0,
              "%s: allocation %ld failing gives status %d", name, n, st);
    }
    fi_fail_at = 0;
    printf("ok   %s: %ld allocation points each failed once, no crash\n", name, n - 1);
}

static void *j_malloc(size_t n) { return fi_malloc(n); }
static void j_free(void *p) { free(p); }

int main(void)
{
    char err[512];
    const char *dir = getenv("MEMGRADE_ASSIGNMENTS");
    grd_catalog *c = grd_catalog_load(dir ? dir : MEMGRADE_SOURCE_DIR "/assignments", err, sizeof err);
    if (!c) {
        printf("FAIL catalog: %s\n", err);
        return 1;
    }
    json_set_alloc_funcs(j_malloc, j_free);
    run("JSON submission", json_case, c);
    run("multipart submission", multipart_case, c);
    run("response cache", cache_case, c);
    json_set_alloc_funcs(malloc, free);
    grd_catalog_free(c);
    printf("test_alloc: %d failure(s)\n", failures);
    return failures != 0;
}
