/* grd_grade from several threads at once (the server's workers do this):
 * every concurrent result must equal the sequential one. Real gcc, real
 * sandbox; run under unshare by ctest. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grd.h"

#define N_JOBS 6

static const char *const sources[] = {
    MEMGRADE_SOURCE_DIR "/assignments/mystr/reference/mystr.c",
    MEMGRADE_SOURCE_DIR "/assignments/mystr/variants/dup_no_room_for_nul.c",
    MEMGRADE_SOURCE_DIR "/assignments/mystr/variants/split_use_after_free.c",
};
#define N_SRC (sizeof sources / sizeof sources[0])

static grd_catalog *cat;
static const grd_assignment *mystr;
static grd_file files[N_SRC];

/* What must not depend on concurrency: score and the errors found. */
static char *summary(const json_t *doc)
{
    json_t *s = json_pack("{s:O, s:O, s:O}", "status", json_object_get(doc, "status"),
                          "score", json_object_get(doc, "score"), "memory_errors",
                          json_object_get(doc, "memory_errors"));
    char *out = s ? json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(s);
    return out;
}

static char *grade(size_t i)
{
    json_t *doc = NULL;
    char err[256];
    if (grd_grade(cat, mystr, &files[i], 1, &doc, err, sizeof err)) {
        printf("grade %zu failed: %s\n", i, err);
        return NULL;
    }
    char *s = summary(doc);
    json_decref(doc);
    return s;
}

static char *expected[N_SRC], *got[N_JOBS];

static void *worker(void *arg)
{
    size_t j = (size_t)(uintptr_t)arg;
    got[j] = grade(j % N_SRC);
    return NULL;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = malloc(1 << 20);
    *len = f && b ? fread(b, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    return b;
}

int main(void)
{
    char err[256];
    int fails = 0;
    cat = grd_catalog_load(MEMGRADE_SOURCE_DIR "/assignments", err, sizeof err);
    mystr = cat ? grd_catalog_find(cat, "mystr") : NULL;
    if (!mystr) {
        printf("FAIL: no mystr: %s\n", err);
        return 1;
    }
    for (size_t i = 0; i < N_SRC; i++) {
        files[i].name = "mystr.c";
        files[i].data = slurp(sources[i], &files[i].len);
        expected[i] = grade(i);
        if (!expected[i])
            fails++;
    }
    pthread_t th[N_JOBS];
    for (size_t j = 0; j < N_JOBS; j++)
        pthread_create(&th[j], NULL, worker, (void *)(uintptr_t)j);
    for (size_t j = 0; j < N_JOBS; j++)
        pthread_join(th[j], NULL);
    for (size_t j = 0; j < N_JOBS; j++) {
        const char *e = expected[j % N_SRC];
        if (!got[j] || !e || strcmp(got[j], e)) {
            printf("FAIL job %zu:\n  sequential: %s\n  concurrent: %s\n", j, e ? e : "-",
                   got[j] ? got[j] : "-");
            fails++;
        }
        free(got[j]);
    }
    /* The variants must differ from the reference, or the test proves little. */
    if (expected[0] && expected[1] && !strcmp(expected[0], expected[1])) {
        printf("FAIL: reference and variant graded alike: %s\n", expected[0]);
        fails++;
    }
    for (size_t i = 0; i < N_SRC; i++) {
        free(expected[i]);
        free((char *)files[i].data);
    }
    grd_catalog_free(cat);
    printf("%s\n", fails ? "FAILED" : "all passed");
    return fails != 0;
}
