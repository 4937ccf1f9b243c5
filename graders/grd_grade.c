/* grd_grade: grading one submission. Compiles the student's files with the
 * runtime (graders/rt) inside the sandbox, runs every test there (one
 * fork-server process for function-level assignments, one run per test for
 * programs), symbolizes what the runtime reported with addr2line, also in
 * the sandbox, and decides every verdict here, outside the box, against
 * expected values that never entered it. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "grd_int.h"

#define GRD_SRC_MAX (256 * 1024)
#define GRD_COMPILE_OUT_MAX 8000
#define GRD_REPORT_KEEP (2u << 20)
#define GRD_ERRS_PER_TEST 8

/* ---- small helpers ------------------------------------------------------- */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void grd_make_token(char *out, size_t cap)
{
    unsigned char r[12];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (unsigned char)(rand() ^ (now_ms() >> (i % 8)));
    size_t n = 0;
    for (size_t i = 0; i < sizeof r && n + 3 <= cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", r[i]);
}

/* ---- the result document ------------------------------------------------- */

static json_t *doc_new(const grd_assignment *a, const char *status)
{
    return json_pack("{s:s, s:s, s:f, s:f, s:{s:b, s:s}, s:[], s:[], s:i}", "assignment",
                     a->name, "status", status, "score", 0.0, "max_score", a->max_score,
                     "compile", "ok", 0, "output", "", "tests", "memory_errors",
                     "duration_ms", 0);
}

/* Compiler output for students: the box's paths go, the size is bounded,
 * and bytes that are not UTF-8 become '?' (jansson refuses them). */
static json_t *clean_output(const char *s, size_t len)
{
    char *o = malloc(GRD_COMPILE_OUT_MAX + 64);
    size_t n = 0;
    if (!o)
        return json_string("");
    for (size_t i = 0; s && i < len && n < GRD_COMPILE_OUT_MAX; i++) {
        if (!strncmp(s + i, "/box/", 5)) {
            i += 4;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        o[n++] = (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ? '?' : (char)c;
    }
    if (s && n >= GRD_COMPILE_OUT_MAX)
        n += (size_t)sprintf(o + n, "\n[... output truncated]");
    while (n && (o[n - 1] == '\n' || o[n - 1] == ' '))
        n--;
    o[n] = 0;
    json_t *j = json_stringn(o, n);
    if (!j) {
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)o[i] >= 0x80)
                o[i] = '?';
        j = json_stringn(o, n);
    }
    free(o);
    return j ? j : json_string("");
}

/* ---- grading ------------------------------------------------------------- */

static bool names_match(const grd_assignment *a, const grd_file *files, size_t n)
{
    if (n != a->nfiles)
        return false;
    for (size_t i = 0; i < a->nfiles; i++) {
        size_t hits = 0;
        for (size_t j = 0; j < n; j++)
            hits += files[j].name && !strcmp(files[j].name, a->files[i]);
        if (hits != 1)
            return false;
    }
    return true;
}

/* gcc's "'x' is used uninitialized" (never "may be": a guess), in one of
 * the student's files: a local read before it is ever set, which no run
 * can tell apart (the compiler fills locals with the same pattern in both),
 * reported at its line. Only ever adds errors: nothing a submission can
 * make gcc print raises a score. Not charged to a test: which tests reach
 * the line is not known. */
static void uninit_locals(json_t *doc, const grd_file *files, size_t nfiles, const char *out)
{
    json_t *errs = json_object_get(doc, "memory_errors");
    for (const char *l = out; l && *l && json_array_size(errs) < 64;) {
        const char *nl = strchr(l, '\n');
        size_t ll = nl ? (size_t)(nl - l) : strlen(l);
        char line[512], file[128], name[64];
        int ln = 0, col = 0;
        snprintf(line, sizeof line, "%.*s", (int)(ll < sizeof line ? ll : sizeof line - 1), l);
        l = nl ? nl + 1 : NULL;
        const char *w = strstr(line, ": warning: "), *u = strstr(line, " is used uninitialized");
        if (!w || !u || u < w || sscanf(line, "%127[^:]:%d:%d", file, &ln, &col) != 3 || ln <= 0)
            continue;
        bool ours = false;
        for (size_t i = 0; i < nfiles; i++)
            ours |= !strcmp(files[i].name, file);
        if (!ours)
            continue;
        /* the name between the quotes (ASCII or UTF-8) */
        const char *q = w + strlen(": warning: ");
        while (q < u && ((unsigned char)*q >= 0x80 || *q == '\'' || *q == '`'))
            q++;
        size_t nn = 0;
        while (q + nn < u && nn + 1 < sizeof name && ((unsigned char)q[nn] < 0x80) && q[nn] != '\'')
            nn++;
        snprintf(name, sizeof name, "%.*s", (int)nn, q);
        char loc[160], msg[300];
        snprintf(loc, sizeof loc, "%s:%d", file, ln);
        bool dup = false;
        size_t i;
        json_t *x;
        json_array_foreach(errs, i, x) {
            const char *xl = json_string_value(json_object_get(x, "location"));
            dup |= xl && !strcmp(xl, loc) &&
                   !strcmp(json_string_value(json_object_get(x, "kind")), "uninitialized_read");
        }
        if (dup)
            continue;
        snprintf(msg, sizeof msg, "the local variable '%s' is read before it was ever given a value "
                 "(an uninitialized read): it holds whatever the stack held; set it before its "
                 "first use", name);
        json_t *e = json_pack("{s:s, s:s, s:s, s:n, s:n, s:[s]}", "kind", "uninitialized_read",
                              "message", msg, "location", loc, "alloc_location", "free_location",
                              "stack", loc);
        if (e)
            json_array_append_new(errs, e);
    }
}

int grd_grade(const grd_catalog *c, const grd_assignment *a, const grd_file *files,
              size_t nfiles, json_t **result, char *err, size_t errlen)
{
    long t0 = now_ms();
    int rc = -1;
    sbx_box *box = NULL;
    json_t *doc = NULL;
    grd_build bld;
    char token[32];
    unsigned long *lim = NULL;
    (void)c;
    memset(&bld, 0, sizeof bld);
    *result = NULL;
    if (!a || (!files && nfiles)) {
        snprintf(err, errlen, "no assignment given");
        return -1;
    }
    doc = doc_new(a, "graded");
    if (!doc) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_t *comp = json_object_get(doc, "compile");
    if (!names_match(a, files, nfiles)) {
        char want[512] = "";
        for (size_t i = 0; i < a->nfiles; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? ", " : "",
                     a->files[i]);
        char msg[700];
        snprintf(msg, sizeof msg, "a submission for %s must consist of exactly these files: %s",
                 a->name, want);
        json_object_set_new(doc, "status", json_string("compile_error"));
        json_object_set_new(comp, "ok", json_false());
        json_object_set_new(comp, "output", json_string(msg));
        goto done;
    }
    for (size_t i = 0; i < nfiles; i++)
        if (files[i].len > GRD_SRC_MAX || (files[i].len && (!files[i].data ||
                                                            memchr(files[i].data, 0, files[i].len)))) {
            char msg[200];
            snprintf(msg, sizeof msg, "%s: not a C source file (binary data, or over %d KiB)",
                     files[i].name, GRD_SRC_MAX / 1024);
            json_object_set_new(doc, "status", json_string("compile_error"));
            json_object_set_new(comp, "ok", json_false());
            json_object_set_new(comp, "output", json_string(msg));
            goto done;
        }

    /* Each test's time limit, from the reference's own (grd_calib.c). */
    lim = calloc(a->ntests ? a->ntests : 1, sizeof *lim);
    if (!lim) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    grd_limits(a, lim);
    box = sbx_box_create(err, errlen);
    if (!box)
        goto out;
    grd_make_token(token, sizeof token);
    int b = grd_build_program(a, box, files, nfiles, &bld, err, errlen);
    if (b < 0)
        goto out;
    json_object_set_new(comp, "output", clean_output(bld.output, bld.output_len));
    if (b == 0) {
        json_object_set_new(doc, "status", json_string("compile_error"));
        json_object_set_new(comp, "ok", json_false());
        goto done;
    }
    json_object_set_new(comp, "ok", json_true());
    long t1 = now_ms();
    grd_timing tm = {.lim = lim, .cpu = NULL};
    if (grd_run_tests(a, box, files, nfiles, token, &tm, doc, err, errlen))
        goto out;
    uninit_locals(doc, files, nfiles, json_string_value(json_object_get(comp, "output")));
    if (getenv("MEMGRADE_DEBUG_REPORT"))
        fprintf(stderr, "[build %ld ms, tests %ld ms]\n", t1 - t0, now_ms() - t1);
done:
    {
        double score = 0;
        json_t *t;
        size_t i;
        json_array_foreach(json_object_get(doc, "tests"), i, t)
            score += json_number_value(json_object_get(t, "score"));
        json_object_set_new(doc, "score", json_real(score));
    }
    json_object_set_new(doc, "duration_ms", json_integer(now_ms() - t0));
    *result = doc;
    doc = NULL;
    rc = 0;
out:
    free(lim);
    grd_build_free(&bld);
    sbx_box_destroy(box);
    json_decref(doc);
    return rc;
}

typedef struct {
    int nice, rc;
    const grd_catalog *c;
    const grd_assignment *a;
    const grd_file *files;
    size_t nfiles;
    json_t **result;
    char *err;
    size_t errlen;
} niced_job;

static void *niced_main(void *arg)
{
    niced_job *j = arg;
    /* This thread only (PRIO_PROCESS names a thread on Linux): the threads
     * and boxes grd_grade starts inherit it, and it ends with the job, so
     * nothing has to be raised back. Best effort: at worst the job runs at
     * the process's priority. */
    errno = 0;
    int base = getpriority(PRIO_PROCESS, (id_t)getpid());
    if (!errno) {
        int want = base + j->nice > 19 ? 19 : base + j->nice;
        (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), want);
    }
    j->rc = grd_grade(j->c, j->a, j->files, j->nfiles, j->result, j->err, j->errlen);
    return NULL;
}

int grd_grade_niced(int nice, const grd_catalog *c, const grd_assignment *a,
                    const grd_file *files, size_t nfiles, json_t **result, char *err,
                    size_t errlen)
{
    niced_job j = {nice, -1, c, a, files, nfiles, result, err, errlen};
    pthread_t th;
    if (nice <= 0 || pthread_create(&th, NULL, niced_main, &j))
        return grd_grade(c, a, files, nfiles, result, err, errlen);
    pthread_join(th, NULL);
    return j.rc;
}
