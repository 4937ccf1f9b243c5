/* grd_catalog: loads assignments/NAME/manifest.json into immutable structs
 * (graders/DRIVER.md §1). Every field is validated here, once, so grading
 * never meets a malformed manifest. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
    m = json_loads(text, 0, &je);
    if (!m || !json_is_object(m)) {
        snprintf(why, sizeof why, "line %d: %s", je.line, m ? "not an object" : je.text);
        goto out;
    }
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

grd_catalog *grd_catalog_load(const char *dir, char *err, size_t errlen)
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
        if (load_one(dir, e->d_name, &c->a[c->n - 1], err, errlen))
            goto fail;
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
