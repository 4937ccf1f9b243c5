/* grd_calib: time limits from the reference's own time.
 *
 * A manifest's test_ms is one limit for every test, set by hand and
 * generous (2 s): a submission whose every test loops held a worker for
 * 24 x 2 s. Each test's limit is instead GRD_CALIB_FACTOR times the CPU
 * time the assignment's reference takes on it, at least GRD_CALIB_FLOOR_MS
 * and never more than test_ms. The reference is graded once per version of
 * the assignment (its manifest, driver, headers and reference sources); the
 * figures are kept in memory and in the cache folder, so a server measures
 * each assignment once, and a CLI grade reuses what an earlier one found.
 * Whole programs too, with more room (grd_int.h): each test's run (and
 * its second run, and the runs that fail an allocation) gets the test's
 * limit as its CPU limit; its wall clock stays four times the
 * manifest's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grd_int.h"

#define CALIB_MAX 64          /* assignment versions remembered */
#define CALIB_SRC_MAX (1 << 20)

typedef struct {
    uint64_t key;
    size_t ntests;
    unsigned long *cpu;       /* NULL: the reference did not grade */
} calib;

static pthread_mutex_t calib_mu = PTHREAD_MUTEX_INITIALIZER;
static calib calibs[CALIB_MAX];
static size_t ncalibs;

/* The version: every file the reference's times depend on. 0 when one
 * cannot be read (then nothing is calibrated). */
static uint64_t version_key(const grd_assignment *a)
{
    uint64_t h = 0xcbf29ce484222325ull;
    char path[PATH_MAX];
    size_t n = 2 + a->nheaders + grd_assignment_file_count(a);
    for (size_t i = 0; i < n; i++) {
        if (i == 1 && a->kind != GRD_FUNCTIONS)
            continue; /* a whole program has no driver */
        if (i == 0)
            snprintf(path, sizeof path, "%s/manifest.json", a->dir);
        else if (i == 1)
            snprintf(path, sizeof path, "%s/%s", a->dir, a->driver ? a->driver : "driver.c");
        else if (i < 2 + a->nheaders)
            snprintf(path, sizeof path, "%s/%s", a->dir, a->headers[i - 2]);
        else
            snprintf(path, sizeof path, "%s/reference/%s", a->dir,
                     grd_assignment_file(a, i - 2 - a->nheaders));
        char *data = NULL;
        size_t len = 0;
        if (grd_read_file(path, CALIB_SRC_MAX, &data, &len))
            return 0;
        h = grd_fnv(h, path + strlen(a->dir), strlen(path + strlen(a->dir)) + 1);
        h = grd_fnv(h, data, len);
        free(data);
    }
    for (size_t i = 0; i < a->ntests; i++)
        h = grd_fnv(h, a->tests[i].name, strlen(a->tests[i].name) + 1);
    return h ? h : 1;
}

/* The reference's figures from the cache folder: one "NAME MS" line per
 * test, in manifest order. */
static unsigned long *cache_read(const grd_assignment *a, uint64_t key)
{
    char path[PATH_MAX], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/calib-%016llx", grd_cache_dir(), (unsigned long long)key);
    if (!grd_trusted_dir(grd_cache_dir()) || grd_read_file(path, 65536, &data, &len))
        return NULL;
    unsigned long *cpu = calloc(a->ntests ? a->ntests : 1, sizeof *cpu);
    const char *p = data;
    size_t i = 0;
    for (; cpu && i < a->ntests; i++) {
        char name[128];
        unsigned long ms;
        int used = 0;
        if (sscanf(p, "%127s %lu\n%n", name, &ms, &used) != 2 || !used ||
            strcmp(name, a->tests[i].name))
            break;
        cpu[i] = ms;
        p += used;
    }
    free(data);
    if (cpu && i < a->ntests) {
        free(cpu);
        return NULL;
    }
    return cpu;
}

/* Written under a temporary name and renamed: concurrent graders see the
 * whole file or none. */
static void cache_write(const grd_assignment *a, uint64_t key, const unsigned long *cpu)
{
    char path[PATH_MAX], tmp[PATH_MAX + 16];
    mkdir(grd_cache_dir(), 0700);
    if (!grd_trusted_dir(grd_cache_dir()))
        return;
    snprintf(path, sizeof path, "%s/calib-%016llx", grd_cache_dir(), (unsigned long long)key);
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        return;
    }
    for (size_t i = 0; i < a->ntests; i++)
        fprintf(f, "%s %lu\n", a->tests[i].name, cpu[i]);
    if (fclose(f) || rename(tmp, path))
        unlink(tmp);
}

/* Grades the reference with the manifest's limits: each test's CPU time. */
static unsigned long *measure(const grd_assignment *a)
{
    size_t nf = grd_assignment_file_count(a);
    grd_file *files = calloc(nf ? nf : 1, sizeof *files);
    unsigned long *cpu = calloc(a->ntests ? a->ntests : 1, sizeof *cpu);
    sbx_box *box = NULL;
    json_t *doc = NULL;
    grd_build bld;
    char err[256], token[32];
    bool ok = false;
    memset(&bld, 0, sizeof bld);
    if (!files || !cpu)
        goto out;
    for (size_t i = 0; i < nf; i++) {
        char path[PATH_MAX];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/reference/%s", a->dir, grd_assignment_file(a, i));
        files[i].name = grd_assignment_file(a, i);
        if (grd_read_file(path, CALIB_SRC_MAX, (char **)&files[i].data, &len))
            goto out;
        files[i].len = len;
    }
    if (!(box = sbx_box_create(err, sizeof err)) ||
        grd_build_program(a, box, files, nf, &bld, err, sizeof err) != 1)
        goto out;
    grd_make_token(token, sizeof token);
    doc = json_pack("{s:[], s:[]}", "tests", "memory_errors");
    grd_timing tm = {.lim = NULL, .cpu = cpu};
    if (!doc || grd_run_tests(a, box, files, nf, token, &tm, doc, err, sizeof err))
        goto out;
    /* Only a reference that passes says how long a test should take. */
    size_t k;
    json_t *t;
    ok = true;
    json_array_foreach(json_object_get(doc, "tests"), k, t)
        ok &= !strcmp(json_string_value(json_object_get(t, "status")), "passed");
out:
    json_decref(doc);
    grd_build_free(&bld);
    sbx_box_destroy(box);
    for (size_t i = 0; files && i < nf; i++)
        free((char *)files[i].data);
    free(files);
    if (!ok) {
        free(cpu);
        return NULL;
    }
    return cpu;
}

int grd_limits(const grd_assignment *a, unsigned long *lim)
{
    for (size_t i = 0; i < a->ntests; i++)
        lim[i] = a->test_ms;
    if (getenv("MEMGRADE_NO_CALIBRATION"))
        return 0;
    uint64_t key = version_key(a);
    if (!key)
        return 0;
    unsigned long *cpu = NULL;
    bool known = false;
    pthread_mutex_lock(&calib_mu);
    for (size_t i = 0; i < ncalibs && !known; i++)
        if (calibs[i].key == key && calibs[i].ntests == a->ntests) {
            known = true;
            if (calibs[i].cpu && (cpu = malloc(a->ntests * sizeof *cpu)))
                memcpy(cpu, calibs[i].cpu, a->ntests * sizeof *cpu);
        }
    pthread_mutex_unlock(&calib_mu);
    if (!known) {
        /* Two graders may measure at once; both find the same. */
        unsigned long *m = cache_read(a, key);
        if (!m && (m = measure(a)))
            cache_write(a, key, m);
        pthread_mutex_lock(&calib_mu);
        calib *slot = &calibs[ncalibs < CALIB_MAX ? ncalibs++ : (size_t)(key % CALIB_MAX)];
        free(slot->cpu);
        slot->key = key;
        slot->ntests = a->ntests;
        slot->cpu = m;
        if (m && (cpu = malloc(a->ntests * sizeof *cpu)))
            memcpy(cpu, m, a->ntests * sizeof *cpu);
        pthread_mutex_unlock(&calib_mu);
    }
    if (!cpu)
        return 0;
    for (size_t i = 0; i < a->ntests; i++) {
        unsigned long l = GRD_CALIB_FACTOR_OF(a) * (cpu[i] ? cpu[i] : 1);
        if (l < GRD_CALIB_FLOOR_OF(a))
            l = GRD_CALIB_FLOOR_OF(a);
        lim[i] = l < a->test_ms ? l : a->test_ms;
    }
    free(cpu);
    return 1;
}
