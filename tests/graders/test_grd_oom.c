/* The engine's own code under allocation failure (STYLE 11, SQLite's
 * faultsim): the k-th allocation made by graders/ code fails, for every k,
 * while loading the bundled catalog and rendering a report. Each call must
 * fail cleanly (NULL, message) or succeed; never crash; and, under the
 * sanitizer build, leak nothing. Our objects' malloc/calloc/realloc/strdup
 * are wrapped at link time (-Wl,--wrap), so libraries are unaffected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grd.h"

static long fail_at, calls;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static int failing(void) { return ++calls == fail_at; }
void *__wrap_malloc(size_t n) { return failing() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return failing() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return failing() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return failing() ? NULL : __real_strdup(s); }

int main(void)
{
    int fails = 0;
    long k, ok_runs = 0, failed_runs = 0;
    json_error_t je;
    json_t *doc = json_loads(
        "{\"assignment\":\"a\",\"status\":\"graded\",\"score\":1,\"max_score\":2,"
        "\"compile\":{\"ok\":true,\"output\":\"w\"},\"tests\":[{\"name\":\"t\",\"score\":1,"
        "\"max_score\":2,\"status\":\"failed\",\"output\":\"x\\ny\",\"visibility\":\"visible\","
        "\"memory_errors\":[]}],\"memory_errors\":[{\"kind\":\"leak\",\"message\":\"m\","
        "\"location\":\"a.c:1\",\"alloc_location\":\"a.c:1\",\"free_location\":null,"
        "\"stack\":[\"a.c:1 f\",\"a.c:2 g\"]}],\"duration_ms\":1}", 0, &je);
    const char *src = "int x;\n";
    grd_file f = {"a.c", src, strlen(src)};
    if (!doc) {
        printf("FAIL: fixture: %s\n", je.text);
        return 1;
    }
    for (k = 1; k < 100000; k++) {
        char err[512] = "";
        calls = 0;
        fail_at = k;
        grd_catalog *c = grd_catalog_load(MEMGRADE_SOURCE_DIR "/assignments", err, sizeof err);
        char *r = grd_report_text(doc, &f, 1);
        long made = calls;
        fail_at = 0;
        if (!c && !err[0]) {
            printf("FAIL: allocation %ld failed: no catalog and no message\n", k);
            fails++;
        }
        if (c && grd_catalog_count(c) == 0) {
            printf("FAIL: allocation %ld failed: an empty catalog instead of an error\n", k);
            fails++;
        }
        ok_runs += c && r;
        failed_runs += !c || !r;
        grd_catalog_free(c);
        free(r);
        if (made < k)
            break; /* every allocation has failed once */
    }
    json_decref(doc);
    printf("%ld allocations failed in turn: %ld runs failed cleanly, %ld succeeded\n", k - 1,
           failed_runs, ok_runs);
    if (k < 10 || ok_runs != 1) {
        printf("FAIL: expected many allocations and exactly one run (the last) to succeed\n");
        fails++;
    }
    printf("%s\n", fails ? "FAILED" : "all passed");
    return fails != 0;
}
