/* grd_report: the readable report of a result document (`memgrade grade`
 * without --json): score, compiler output, each test, and each memory error
 * with the offending line of the student's file quoted. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grd.h"

#define REPORT_MAX (1u << 20)

typedef struct {
    char *s;
    size_t n, cap;
    bool oom;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0 || b->oom || b->n + (size_t)need + 1 > REPORT_MAX)
        return;
    if (b->n + (size_t)need + 1 > b->cap) {
        size_t nc = (b->cap ? b->cap : 1024);
        while (nc < b->n + (size_t)need + 1)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Quotes line N of the named file ("mystr.c:7"), if we have it. */
static void quote(buf *b, const char *loc, const grd_file *files, size_t nfiles)
{
    const char *colon = loc ? strrchr(loc, ':') : NULL;
    if (!colon)
        return;
    long line = strtol(colon + 1, NULL, 10);
    for (size_t i = 0; i < nfiles; i++) {
        if (strlen(files[i].name) != (size_t)(colon - loc) ||
            strncmp(files[i].name, loc, (size_t)(colon - loc)))
            continue;
        const char *p = files[i].data, *end = p + files[i].len;
        for (long l = 1; p < end && l < line; l++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            p = nl ? nl + 1 : end;
        }
        if (p >= end || line < 1)
            return;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        while (len && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        put(b, "        %5ld | %.*s\n", line, (int)(len > 160 ? 160 : len), p);
        return;
    }
}

static void error_lines(buf *b, const json_t *e, const grd_file *files, size_t nfiles)
{
    const char *loc = json_string_value(json_object_get(e, "location"));
    const char *al = json_string_value(json_object_get(e, "alloc_location"));
    const char *fl = json_string_value(json_object_get(e, "free_location"));
    put(b, "    %s%s%s: %s\n", str(e, "kind"), loc ? " at " : "", loc ? loc : "", str(e, "message"));
    quote(b, loc, files, nfiles);
    if (al && (!loc || strcmp(al, loc))) {
        put(b, "      allocated at %s\n", al);
        quote(b, al, files, nfiles);
    }
    if (fl) {
        put(b, "      freed at %s\n", fl);
        quote(b, fl, files, nfiles);
    }
    /* The calls that led there, innermost first: which test, which path. */
    const json_t *st = json_object_get(e, "stack");
    if (json_array_size(st) > 1) {
        put(b, "      call stack:");
        for (size_t i = 0; i < json_array_size(st) && i < 6; i++)
            put(b, "%s %s", i ? " <-" : "", json_string_value(json_array_get(st, i)));
        put(b, "\n");
    }
}

char *grd_report_text(const json_t *r, const grd_file *files, size_t nfiles)
{
    buf b = {0};
    size_t i;
    json_t *t, *e;
    put(&b, "%s: %s, score %g / %g\n", str(r, "assignment"), str(r, "status"),
        json_number_value(json_object_get(r, "score")),
        json_number_value(json_object_get(r, "max_score")));
    const json_t *comp = json_object_get(r, "compile");
    if (*str(comp, "output"))
        put(&b, "\ncompiler output:\n%s\n", str(comp, "output"));
    if (json_array_size(json_object_get(r, "tests")))
        put(&b, "\ntests:\n");
    json_array_foreach(json_object_get(r, "tests"), i, t) {
        put(&b, "  [%s] %s  %g/%g\n", str(t, "status"), str(t, "name"),
            json_number_value(json_object_get(t, "score")),
            json_number_value(json_object_get(t, "max_score")));
        const char *o = str(t, "output");
        while (*o) {
            const char *nl = strchr(o, '\n');
            size_t l = nl ? (size_t)(nl - o) : strlen(o);
            put(&b, "      %.*s\n", (int)l, o);
            o += l + (nl != NULL);
        }
    }
    if (json_array_size(json_object_get(r, "memory_errors"))) {
        put(&b, "\nmemory errors:\n");
        json_array_foreach(json_object_get(r, "memory_errors"), i, e)
            error_lines(&b, e, files, nfiles);
    }
    put(&b, "\n(%lld ms)\n", (long long)json_integer_value(json_object_get(r, "duration_ms")));
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s ? b.s : strdup("");
}
