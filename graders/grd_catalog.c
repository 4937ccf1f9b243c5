/* grd_catalog: loads assignments/NAME/manifest.json into immutable structs
 * (graders/DRIVER.md §1). Every field is validated here, once, so grading
 * never meets a malformed manifest. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grd_int.h"

#define GRD_MANIFEST_MAX (1 << 20)

int grd_read_file(const char *path, size_t max, char **out, size_t *len)
{
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = NULL;
    size_t n = 0;
    *out = NULL;
    if (fd < 0)
        return -errno;
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        rc = -EINVAL;
        goto out;
    }
    if ((size_t)sb.st_size > max) {
        rc = -EFBIG;
        goto out;
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    while (n < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)sb.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = 0;
    *out = buf;
    buf = NULL;
    if (len)
        *len = n;
out:
    free(buf);
    close(fd);
    return rc;
}

static bool safe_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64 || s[0] == '.')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

bool grd_name_ok(const char *s) { return safe_name(s); }

static char *dup_str(json_t *o, const char *key, bool *bad)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return NULL;
    if (!json_is_string(v)) {
        *bad = true;
        return NULL;
    }
    char *s = strdup(json_string_value(v));
    if (!s)
        *bad = true;
    return s;
}

static char **str_array(json_t *o, const char *key, size_t *n, bool names, bool *bad)
{
    json_t *v = json_object_get(o, key);
    *n = 0;
    if (!v)
        return NULL;
    if (!json_is_array(v) || json_array_size(v) > 64) {
        *bad = true;
        return NULL;
    }
    char **a = calloc(json_array_size(v) + 1, sizeof *a);
    if (!a) {
        *bad = true;
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (!s || (names && !safe_name(s)) || !(a[i] = strdup(s))) {
            *bad = true;
            break;
        }
        *n = i + 1;
    }
    return a;
}

static void free_strs(char **a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        free(a[i]);
    free(a);
}

static void free_assignment(grd_assignment *a)
{
    for (size_t i = 0; a->tests && i < a->ntests; i++) {
        grd_test *t = &a->tests[i];
        free(t->name);
        free(t->description);
        free(t->visibility);
        json_decref(t->expect);
        json_decref(t->on_fail);
        free_strs(t->args, t->nargs);
        free(t->stdin_data);
        free(t->expect_stdout);
        free(t->stdout_contains);
        free(t->stderr_contains);
    }
    free(a->tests);
    free(a->name);
    free(a->title);
    free(a->dir);
    free_strs(a->files, a->nfiles);
    free_strs(a->headers, a->nheaders);
    free(a->driver);
}

static bool string_object(json_t *o)
{
    const char *k;
    json_t *v;
    if (!json_is_object(o))
        return false;
    json_object_foreach(o, k, v) if (!json_is_string(v)) return false;
    return true;
}

static unsigned long limit(json_t *lim, const char *key, unsigned long def, unsigned long max)
{
    json_t *v = json_object_get(lim, key);
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return def;
    unsigned long x = (unsigned long)json_integer_value(v);
    return x > max ? max : x;
}

static int parse_test(grd_assignment *a, json_t *j, grd_test *t, char *why, size_t wl)
{
    bool bad = false;
    if (!json_is_object(j)) {
        snprintf(why, wl, "a test is not an object");
        return -1;
    }
    t->name = dup_str(j, "name", &bad);
    t->description = dup_str(j, "description", &bad);
    t->visibility = dup_str(j, "visibility", &bad);
    if (!t->visibility && !bad)
        t->visibility = strdup("visible");
    json_t *pts = json_object_get(j, "points");
    t->points = json_is_number(pts) ? json_number_value(pts) : 0;
    if (bad || !t->name || !safe_name(t->name) || !(t->points > 0) || t->points > 1000 ||
        !t->visibility ||
        (strcmp(t->visibility, "visible") && strcmp(t->visibility, "hidden") &&
         strcmp(t->visibility, "after_due_date"))) {
        snprintf(why, wl, "test %s: needs a name, points > 0 and a valid visibility",
                 t->name ? t->name : "?");
        return -1;
    }
    if (a->kind == GRD_FUNCTIONS) {
        t->expect = json_incref(json_object_get(j, "expect"));
        t->on_fail = json_incref(json_object_get(j, "on_alloc_failure"));
        if (!string_object(t->expect) || (t->on_fail && !string_object(t->on_fail))) {
            snprintf(why, wl, "test %s: expect/on_alloc_failure must map keys to strings", t->name);
            return -1;
        }
        return 0;
    }
    t->args = str_array(j, "args", &t->nargs, false, &bad);
    t->stdin_data = dup_str(j, "stdin", &bad);
    t->expect_stdout = dup_str(j, "expect_stdout", &bad);
    t->stdout_contains = dup_str(j, "expect_stdout_contains", &bad);
    t->stderr_contains = dup_str(j, "expect_stderr_contains", &bad);
    json_t *v = json_object_get(j, "expect_exit");
    if (v) {
        t->has_exit = true;
        t->expect_exit = (int)json_integer_value(v);
        bad |= !json_is_integer(v);
    }
    v = json_object_get(j, "memory_mb");
    t->memory_mb = json_is_integer(v) && json_integer_value(v) > 0 ? (unsigned long)json_integer_value(v) : 0;
    v = json_object_get(j, "min_peak_rss_mb");
    t->min_rss_mb = json_is_number(v) ? json_number_value(v) : 0;
    const char *chk = json_string_value(json_object_get(j, "check"));
    if (chk && strcmp(chk, "addrspace")) {
        snprintf(why, wl, "test %s: unknown check \"%s\"", t->name, chk);
        return -1;
    }
    t->check_addrspace = chk != NULL;
    v = json_object_get(j, "leaks");
    t->leaks = v ? json_is_true(v) : true;
    if (bad) {
        snprintf(why, wl, "test %s: a field has the wrong type", t->name);
        return -1;
    }
    return 0;
}

/* ---- strict validation ----------------------------------------------------
 * Every key of a manifest is known, of the right type and in range; each
 * problem is one message naming the field ("tests[3].points: must be > 0").
 * A table per object: key, type, and for numbers the lower bound. */

typedef enum { V_STR, V_NAME, V_NAMES, V_STRS, V_INT, V_NUM, V_BOOL, V_OBJ, V_ARR, V_STRMAP } v_type;

typedef struct {
    const char *key;
    v_type type;
    double min;         /* V_INT / V_NUM: the value must be > min */
} v_field;

static const v_field top_fields[] = {
    {"name", V_NAME, 0},   {"title", V_STR, 0},    {"kind", V_STR, 0},
    {"files", V_NAMES, 0}, {"headers", V_NAMES, 0}, {"driver", V_NAME, 0},
    {"limits", V_OBJ, 0},  {"tests", V_ARR, 0},
};
static const v_field limit_fields[] = {
    {"test_ms", V_INT, 0}, {"wall_ms", V_INT, 0}, {"memory_mb", V_INT, 0}, {"output_kb", V_INT, 0},
};
static const v_field test_fields[] = {
    {"name", V_NAME, 0},
    {"description", V_STR, 0},
    {"visibility", V_STR, 0},
    {"points", V_NUM, 0},
    {"expect", V_STRMAP, 0},
    {"on_alloc_failure", V_STRMAP, 0},
    {"args", V_STRS, 0},
    {"stdin", V_STR, 0},
    {"expect_stdout", V_STR, 0},
    {"expect_stdout_contains", V_STR, 0},
    {"expect_stderr_contains", V_STR, 0},
    {"expect_exit", V_INT, -1e9},
    {"memory_mb", V_INT, 0},
    {"min_peak_rss_mb", V_NUM, -1e-9},
    {"check", V_STR, 0},
    {"leaks", V_BOOL, 0},
};

typedef struct {
    void (*fn)(void *ctx, const char *msg);
    void *ctx;
    int n;
} v_sink;

__attribute__((format(printf, 2, 3)))
static void problem(v_sink *k, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    k->n++;
    if (k->fn)
        k->fn(k->ctx, msg);
}

static void check_fields(v_sink *k, const char *where, json_t *o, const v_field *f, size_t nf)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        size_t i;
        for (i = 0; i < nf && strcmp(f[i].key, key); i++)
            ;
        if (i == nf) {
            problem(k, "manifest.json: %s%.64s: unknown key", where, key);
            continue;
        }
        const char *bad = NULL;
        switch (f[i].type) {
        case V_STR:
            bad = json_is_string(v) ? NULL : "wrong type: must be a string";
            break;
        case V_NAME:
            bad = !json_is_string(v)              ? "wrong type: must be a string"
                  : !safe_name(json_string_value(v)) ? "must be a plain file name (letters, digits, . _ -)"
                                                     : NULL;
            break;
        case V_NAMES:
        case V_STRS: {
            if (!json_is_array(v) || json_array_size(v) > 64) {
                bad = "wrong type: must be an array of strings (at most 64)";
                break;
            }
            size_t j;
            json_t *e;
            json_array_foreach(v, j, e) {
                if (!json_is_string(e))
                    problem(k, "manifest.json: %s%s[%zu]: wrong type: must be a string", where,
                            key, j);
                else if (f[i].type == V_NAMES && !safe_name(json_string_value(e)))
                    problem(k, "manifest.json: %s%s[%zu]: must be a plain file name, not a path",
                            where, key, j);
            }
            break;
        }
        case V_INT:
            bad = !json_is_integer(v)                          ? "wrong type: must be a whole number"
                  : !((double)json_integer_value(v) > f[i].min) ? "must be > 0"
                                                                : NULL;
            break;
        case V_NUM:
            bad = !json_is_number(v)                       ? "wrong type: must be a number"
                  : !(json_number_value(v) > f[i].min)      ? (f[i].min < 0 ? "must be >= 0"
                                                                            : "must be > 0")
                  : json_number_value(v) > 1000 && f[i].min == 0 ? "must be at most 1000"
                                                                 : NULL;
            break;
        case V_BOOL:
            bad = json_is_boolean(v) ? NULL : "wrong type: must be true or false";
            break;
        case V_OBJ:
            bad = json_is_object(v) ? NULL : "wrong type: must be an object";
            break;
        case V_ARR:
            bad = json_is_array(v) ? NULL : "wrong type: must be an array";
            break;
        case V_STRMAP:
            bad = string_object(v) ? NULL : "must map keys to strings";
            break;
        }
        if (bad)
            problem(k, "manifest.json: %s%s: %s", where, key, bad);
    }
}

/* Every problem of manifest m of the folder called folder. */
static void validate(v_sink *k, json_t *m, const char *folder)
{
    if (!json_is_object(m)) {
        problem(k, "manifest.json: not an object");
        return;
    }
    check_fields(k, "", m, top_fields, sizeof top_fields / sizeof top_fields[0]);
    const char *name = json_string_value(json_object_get(m, "name"));
    if (!name)
        problem(k, "manifest.json: name: missing (it must be the folder name '%s')", folder);
    else if (folder && strcmp(name, folder))
        problem(k, "manifest.json: name: '%.64s' differs from the folder name '%s'", name, folder);
    const char *kind = json_string_value(json_object_get(m, "kind"));
    if (!kind || (strcmp(kind, "functions") && strcmp(kind, "program")))
        problem(k, "manifest.json: kind: must be \"functions\" or \"program\"");
    json_t *files = json_object_get(m, "files");
    if (!json_is_array(files) || !json_array_size(files))
        problem(k, "manifest.json: files: must list the files a student submits");
    size_t i;
    json_t *e;
    json_array_foreach(files, i, e) {
        const char *f = json_string_value(e);
        size_t l = f ? strlen(f) : 0;
        if (f && (l < 3 || strcmp(f + l - 2, ".c")))
            problem(k, "manifest.json: files[%zu]: '%.64s' must be a .c file", i, f);
    }
    if (kind && !strcmp(kind, "functions") && !json_object_get(m, "driver"))
        problem(k, "manifest.json: driver: a functions assignment needs a driver file");
    json_t *lim = json_object_get(m, "limits");
    if (json_is_object(lim))
        check_fields(k, "limits.", lim, limit_fields, sizeof limit_fields / sizeof limit_fields[0]);
    json_t *tests = json_object_get(m, "tests");
    if (!json_is_array(tests) || !json_array_size(tests) || json_array_size(tests) > 200) {
        problem(k, "manifest.json: tests: must be a non-empty array (at most 200)");
        return;
    }
    json_t *t;
    json_array_foreach(tests, i, t) {
        char where[32];
        snprintf(where, sizeof where, "tests[%zu].", i);
        if (!json_is_object(t)) {
            problem(k, "manifest.json: tests[%zu]: a test is not an object", i);
            continue;
        }
        check_fields(k, where, t, test_fields, sizeof test_fields / sizeof test_fields[0]);
        const char *tn = json_string_value(json_object_get(t, "name"));
        if (!json_object_get(t, "name"))
            problem(k, "manifest.json: tests[%zu].name: missing", i);
        if (!json_object_get(t, "points"))
            problem(k, "manifest.json: tests[%zu].points: missing (must be > 0)", i);
        const char *vis = json_string_value(json_object_get(t, "visibility"));
        if (vis && strcmp(vis, "visible") && strcmp(vis, "hidden") && strcmp(vis, "after_due_date"))
            problem(k, "manifest.json: tests[%zu].visibility: must be visible, hidden or "
                       "after_due_date, not '%.32s'", i, vis);
        const char *chk = json_string_value(json_object_get(t, "check"));
        if (chk && strcmp(chk, "addrspace"))
            problem(k, "manifest.json: tests[%zu].check: unknown check \"%.32s\"", i, chk);
        for (size_t j = 0; tn && j < i; j++) {
            const char *o = json_string_value(json_object_get(json_array_get(tests, j), "name"));
            if (o && !strcmp(o, tn)) {
                problem(k, "manifest.json: tests[%zu].name: two tests are named %.64s", i, tn);
                break;
            }
        }
    }
}

static void first_problem(void *ctx, const char *msg)
{
    char *why = ctx;
    if (!why[0])
        snprintf(why, 256, "%s", msg + strlen("manifest.json: "));
}

static void first_problem_ignore(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

static int load_one(const char *dir, const char *name, grd_assignment *a, char *err, size_t errlen)
{
    char path[4096], why[256] = "";
    json_error_t je;
    json_t *m = NULL;
    char *text = NULL;
    int rc = -1;
    bool bad = false;
    snprintf(path, sizeof path, "%s/%s/manifest.json", dir, name);
    if (grd_read_file(path, GRD_MANIFEST_MAX, &text, NULL)) {
        snprintf(why, sizeof why, "cannot read it");
        goto out;
    }
    m = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!m || !json_is_object(m)) {
        snprintf(why, sizeof why, "line %d: %s", je.line, m ? "not an object" : je.text);
        goto out;
    }
    v_sink sink = {first_problem, why, 0};
    validate(&sink, m, name);
    if (sink.n)
        goto out;
    a->name = dup_str(m, "name", &bad);
    a->title = dup_str(m, "title", &bad);
    a->driver = dup_str(m, "driver", &bad);
    a->files = str_array(m, "files", &a->nfiles, true, &bad);
    a->headers = str_array(m, "headers", &a->nheaders, true, &bad);
    a->dir = malloc(strlen(dir) + strlen(name) + 2);
    const char *kind = json_string_value(json_object_get(m, "kind"));
    if (bad || !a->dir || !a->name || strcmp(a->name, name) || !a->nfiles || !kind) {
        snprintf(why, sizeof why, "needs name (= folder name), kind and files");
        goto out;
    }
    sprintf(a->dir, "%s/%s", dir, name);
    if (!a->title)
        a->title = strdup(a->name);
    if (!strcmp(kind, "functions"))
        a->kind = GRD_FUNCTIONS;
    else if (!strcmp(kind, "program"))
        a->kind = GRD_PROGRAM;
    else {
        snprintf(why, sizeof why, "kind must be \"functions\" or \"program\"");
        goto out;
    }
    if (a->kind == GRD_FUNCTIONS && (!a->driver || !safe_name(a->driver))) {
        snprintf(why, sizeof why, "a functions assignment needs a driver file name");
        goto out;
    }
    for (size_t i = 0; i < a->nfiles; i++) {
        size_t l = strlen(a->files[i]);
        if (l < 3 || strcmp(a->files[i] + l - 2, ".c")) {
            snprintf(why, sizeof why, "submitted files must be .c files");
            goto out;
        }
    }
    json_t *lim = json_object_get(m, "limits");
    a->test_ms = limit(lim, "test_ms", 2000, 60000);
    a->wall_ms = limit(lim, "wall_ms", 60000, 600000);
    a->memory_mb = limit(lim, "memory_mb", 512, 8192);
    a->output_kb = limit(lim, "output_kb", 64, 4096);
    json_t *tests = json_object_get(m, "tests");
    if (!json_is_array(tests) || !json_array_size(tests) || json_array_size(tests) > 200) {
        snprintf(why, sizeof why, "tests must be a non-empty array (at most 200)");
        goto out;
    }
    a->tests = calloc(json_array_size(tests), sizeof *a->tests);
    if (!a->tests)
        goto out;
    for (size_t i = 0; i < json_array_size(tests); i++) {
        a->ntests = i + 1;
        if (parse_test(a, json_array_get(tests, i), &a->tests[i], why, sizeof why))
            goto out;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(a->tests[j].name, a->tests[i].name)) {
                snprintf(why, sizeof why, "two tests are named %s", a->tests[i].name);
                goto out;
            }
        a->max_score += a->tests[i].points;
    }
    rc = 0;
out:
    if (rc)
        snprintf(err, errlen, "%s: invalid manifest: %s", path, why[0] ? why : "out of memory");
    json_decref(m);
    free(text);
    return rc;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const grd_assignment *)x)->name, ((const grd_assignment *)y)->name);
}

/* Loads the catalog; an assignment that does not load is left out and
 * reported to skip (when non-NULL), else it fails the whole catalog. */
static grd_catalog *catalog_load(const char *dir, void (*skip)(void *ctx, const char *msg),
                                 void *ctx, char *err, size_t errlen)
{
    grd_catalog *c = calloc(1, sizeof *c);
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!c || !d) {
        snprintf(err, errlen, "%s: %s", dir, c ? strerror(errno) : "out of memory");
        goto fail;
    }
    c->dir = strdup(dir);
    if (!c->dir) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    while ((e = readdir(d))) {
        char path[4096];
        struct stat sb;
        if (!safe_name(e->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s/manifest.json", dir, e->d_name);
        if (stat(path, &sb) || !S_ISREG(sb.st_mode))
            continue; /* a folder without a manifest is not an assignment */
        grd_assignment *na = realloc(c->a, (c->n + 1) * sizeof *na);
        if (!na) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        c->a = na;
        memset(&c->a[c->n], 0, sizeof c->a[c->n]);
        c->n++;
        if (load_one(dir, e->d_name, &c->a[c->n - 1], err, errlen)) {
            if (!skip)
                goto fail;
            skip(ctx, err);
            err[0] = '\0';
            free_assignment(&c->a[--c->n]);
        }
    }
    closedir(d);
    qsort(c->a, c->n, sizeof *c->a, by_name);
    return c;
fail:
    if (d)
        closedir(d);
    grd_catalog_free(c);
    return NULL;
}

grd_catalog *grd_catalog_load(const char *dir, char *err, size_t errlen)
{
    return catalog_load(dir, NULL, NULL, err, errlen);
}

grd_catalog *grd_catalog_open(const char *dir, void (*skip)(void *ctx, const char *msg),
                              void *ctx, char *err, size_t errlen)
{
    static char none;
    return catalog_load(dir, skip ? skip : first_problem_ignore, skip ? ctx : &none, err,
                        errlen);
}

int grd_manifest_check(const char *dir, void (*fn)(void *ctx, const char *msg), void *ctx)
{
    char path[4096], *text = NULL;
    v_sink k = {fn, ctx, 0};
    json_error_t je;
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    int rc = grd_read_file(path, GRD_MANIFEST_MAX, &text, NULL);
    if (rc) {
        problem(&k, "manifest.json: cannot read it: %s", strerror(-rc));
        return k.n;
    }
    json_t *m = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!m) {
        problem(&k, "manifest.json: line %d column %d: %s", je.line, je.column, je.text);
        return k.n;
    }
    const char *base = strrchr(dir, '/');
    char folder[256];
    snprintf(folder, sizeof folder, "%s", base ? base + 1 : dir);
    size_t fl = strlen(folder);
    while (fl && folder[fl - 1] == '/')
        folder[--fl] = '\0';
    validate(&k, m, fl ? folder : NULL);
    json_decref(m);
    return k.n;
}

void grd_catalog_free(grd_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free_assignment(&c->a[i]);
    free(c->a);
    free(c->dir);
    free(c);
}

size_t grd_catalog_count(const grd_catalog *c) { return c ? c->n : 0; }
const grd_assignment *grd_catalog_at(const grd_catalog *c, size_t i) { return c && i < c->n ? &c->a[i] : NULL; }

const grd_assignment *grd_catalog_find(const grd_catalog *c, const char *name)
{
    for (size_t i = 0; c && name && i < c->n; i++)
        if (!strcmp(c->a[i].name, name))
            return &c->a[i];
    return NULL;
}

const char *grd_assignment_name(const grd_assignment *a) { return a->name; }
const char *grd_assignment_title(const grd_assignment *a) { return a->title; }
double grd_assignment_max_score(const grd_assignment *a) { return a->max_score; }
size_t grd_assignment_file_count(const grd_assignment *a) { return a->nfiles; }
const char *grd_assignment_file(const grd_assignment *a, size_t i) { return i < a->nfiles ? a->files[i] : NULL; }

json_t *grd_assignment_json(const grd_assignment *a)
{
    json_t *files = json_array();
    for (size_t i = 0; files && i < a->nfiles; i++)
        json_array_append_new(files, json_string(a->files[i]));
    return json_pack("{s:s, s:s, s:o*, s:f}", "name", a->name, "title", a->title,
                     "files", files, "max_score", a->max_score);
}
