/* asg_check: the checks of an assignment folder that `memgrade assignment
 * check` and an upload through the API share. Everything runs through
 * grd_grade, so the instructor's driver runs in the sandbox like a
 * student's code. */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "asg_check.h"
#include "grd.h"

#define CHECK_MAX_FILE (1 << 20)

typedef struct {
    int n;
    asg_problem_fn fn;
    void *ctx;
} problems;

__attribute__((format(printf, 2, 3)))
static void say(problems *p, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->n++;
    if (p->fn)
        p->fn(p->ctx, msg);
}

/* The line of a multi-line message worth one problem line: the first that
 * says "error", else the first. */
static void one_line(const char *msg, char *out, size_t cap)
{
    const char *p = msg, *e = strstr(msg, "error:");
    if (e) {
        while (e > msg && e[-1] != '\n')
            e--;
        p = e;
    }
    snprintf(out, cap, "%.*s", (int)strcspn(p, "\n"), p);
}

static void manifest_problem(void *ctx, const char *msg)
{
    say(ctx, "%s", msg);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    if (!f)
        return NULL;
    char *buf = malloc(CHECK_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, CHECK_MAX_FILE + 1, f) : 0;
    fclose(f);
    if (!buf || n > CHECK_MAX_FILE) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Grades the one-file source at rel (relative to the assignment folder)
 * as the assignment's first file. NULL (a problem said) on failure. */
static json_t *grade_file(problems *p, const grd_catalog *c, const grd_assignment *a,
                          const char *dir, const char *rel)
{
    char path[PATH_MAX + 256], err[512];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char *data = read_all(path, &len);
    if (!data) {
        say(p, "%s: cannot read it (missing, or larger than 1 MiB)", rel);
        return NULL;
    }
    grd_file f = {grd_assignment_file(a, 0), data, len};
    json_t *doc = NULL;
    if (grd_grade(c, a, &f, 1, &doc, err, sizeof err)) {
        char line[300];
        one_line(err, line, sizeof line);
        say(p, "%s: could not be graded: %s%s", rel, line,
            strstr(err, "MGT_PICK_") ? " (a test of the driver's MGT_TESTS that the manifest "
                                       "does not list?)"
                                     : "");
        doc = NULL;
    }
    free(data);
    return doc;
}

/* The names of the tests of doc that did not pass, for a message. */
static void failing_tests(const json_t *doc, char *out, size_t cap)
{
    size_t i, n = 0;
    json_t *t;
    out[0] = '\0';
    json_array_foreach(json_object_get(doc, "tests"), i, t) {
        const char *st = json_string_value(json_object_get(t, "status"));
        if (st && strcmp(st, "passed") && n + 200 < cap) {
            char line[160];
            one_line(json_string_value(json_object_get(t, "output")) ?: "", line, sizeof line);
            n += (size_t)snprintf(out + n, cap - n, "%s%s (%s)", n ? ", " : "",
                                  json_string_value(json_object_get(t, "name")), line);
        }
    }
}

static void check_reference(problems *p, const grd_catalog *c, const grd_assignment *a,
                            const char *dir)
{
    char rel[PATH_MAX], fails[1024];
    snprintf(rel, sizeof rel, "reference/%s", grd_assignment_file(a, 0));
    json_t *doc = grade_file(p, c, a, dir, rel);
    if (!doc)
        return;
    const char *st = json_string_value(json_object_get(doc, "status"));
    double score = json_number_value(json_object_get(doc, "score"));
    double max = json_number_value(json_object_get(doc, "max_score"));
    size_t nerr = json_array_size(json_object_get(doc, "memory_errors"));
    if (st && !strcmp(st, "compile_error")) {
        const char *out = json_string_value(json_object_get(json_object_get(doc, "compile"),
                                                            "output"));
        char line[300] = "";
        if (out)
            one_line(out, line, sizeof line);
        say(p, "%s: the reference and driver do not compile: %s", rel, line);
    } else if (!st || strcmp(st, "graded")) {
        say(p, "%s: grading ended in %s", rel, st ? st : "no status");
    } else if (score != max || nerr) {
        failing_tests(doc, fails, sizeof fails);
        say(p, "%s: the reference must get full marks with no memory error: %g/%g, %zu "
               "memory error(s)%s%s", rel, score, max, nerr, fails[0] ? "; failing: " : "", fails);
    }
    json_decref(doc);
}

/* What grade_assignments.py checks, for one variant: wrong-but-clean ones
 * lose points, buggy ones report their kind at their line. */
static void check_variant(problems *p, const grd_catalog *c, const grd_assignment *a,
                          const char *dir, size_t i, json_t *v)
{
    const char *file = json_string_value(json_object_get(v, "file"));
    if (!file || strchr(file, '/') || file[0] == '.') {
        say(p, "variants/expected.json: variants[%zu].file: must name a file in variants/", i);
        return;
    }
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x) {
        if (strcmp(key, "file") && strcmp(key, "kind") && strcmp(key, "line") &&
            strcmp(key, "feedback") && strcmp(key, "full_marks"))
            say(p, "variants/expected.json: variants[%zu].%.64s: unknown key", i, key);
    }
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "variants/%s", file);
    json_t *doc = grade_file(p, c, a, dir, rel);
    if (!doc)
        return;
    double score = json_number_value(json_object_get(doc, "score"));
    double max = json_number_value(json_object_get(doc, "max_score"));
    json_t *errs = json_object_get(doc, "memory_errors");
    const char *kind = json_string_value(json_object_get(v, "kind"));
    json_int_t line = json_integer_value(json_object_get(v, "line"));
    if (json_is_true(json_object_get(v, "full_marks"))) {
        if (score != max || json_array_size(errs))
            say(p, "%s: expected full marks, got %g/%g with %zu memory error(s)", rel, score, max,
                json_array_size(errs));
    } else if (!(score < max)) {
        say(p, "%s: a variant must lose points, got %g/%g", rel, score, max);
    } else if (kind) {
        char loc[300];
        snprintf(loc, sizeof loc, "%s:%lld", grd_assignment_file(a, 0), (long long)line);
        size_t k;
        json_t *e;
        int found = 0;
        json_array_foreach(errs, k, e) {
            const char *ek = json_string_value(json_object_get(e, "kind"));
            const char *el = json_string_value(json_object_get(e, "location"));
            found |= ek && el && !strcmp(ek, kind) && !strcmp(el, loc);
        }
        if (!found)
            say(p, "%s: expected %s at %s, not reported", rel, kind, loc);
    }
    json_decref(doc);
}

static void check_variants(problems *p, const grd_catalog *c, const grd_assignment *a,
                           const char *dir)
{
    char path[PATH_MAX + 64];
    struct stat sb;
    snprintf(path, sizeof path, "%s/variants/expected.json", dir);
    if (stat(path, &sb))
        return; /* variants are optional */
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    json_t *vs = root ? json_object_get(root, "variants") : NULL;
    if (!json_is_array(vs)) {
        say(p, "variants/expected.json: %s", root ? "variants: must be an array" : je.text);
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(vs, i, v) check_variant(p, c, a, dir, i, v);
    }
    json_decref(root);
}

static void note_skip(void *ctx, const char *msg)
{
    char **keep = ctx;
    if (!*keep)
        *keep = strdup(msg);
}

int asg_check(const char *dir, const char *name, asg_problem_fn fn, void *ctx)
{
    problems p = {0, fn, ctx};
    struct stat sb;
    if (grd_manifest_check(dir, manifest_problem, &p))
        return p.n;
    /* Load it the way the server would: from its parent folder, alone. */
    char parent[PATH_MAX];
    size_t dl = strlen(dir), nl = strlen(name);
    if (dl <= nl || dl >= sizeof parent || strcmp(dir + dl - nl, name) || dir[dl - nl - 1] != '/') {
        say(&p, "%s: the folder must be called %s", dir, name);
        return p.n;
    }
    snprintf(parent, sizeof parent, "%.*s", (int)(dl - nl - 1), dir);
    char err[512], *skipped = NULL;
    grd_catalog *c = grd_catalog_open(parent[0] ? parent : "/", note_skip, &skipped, err,
                                      sizeof err);
    const grd_assignment *a = c ? grd_catalog_find(c, name) : NULL;
    if (!a) {
        say(&p, "manifest.json: %s", skipped ? skipped : c ? "not loaded" : err);
        goto out;
    }
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *m = json_load_file(path, 0, NULL);
    const char *driver = json_string_value(json_object_get(m, "driver"));
    json_t *headers = json_object_get(m, "headers");
    if (driver) {
        snprintf(path, sizeof path, "%s/%s", dir, driver);
        if (stat(path, &sb) || !S_ISREG(sb.st_mode))
            say(&p, "manifest.json: driver: %s: no such file", driver);
    }
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        snprintf(path, sizeof path, "%s/%s", dir, json_string_value(h));
        if (stat(path, &sb) || !S_ISREG(sb.st_mode))
            say(&p, "manifest.json: headers[%zu]: %s: no such file", i, json_string_value(h));
    }
    json_decref(m);
    if (grd_assignment_file_count(a) != 1)
        say(&p, "manifest.json: files: check grades one-file assignments only");
    if (!p.n) {
        check_reference(&p, c, a, dir);
        if (!p.n)
            check_variants(&p, c, a, dir);
    }
out:
    free(skipped);
    grd_catalog_free(c);
    return p.n;
}
