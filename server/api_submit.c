/* api_submit: parsing and validation of submission bodies. */
#include "api_submit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth.h"

#define SUB_MAX_FILES 16     /* more parts than any assignment expects */
#define SUB_MAX_NAME 128

typedef struct {
    char *name;
    char *data;
    size_t len;
} sub_file;

struct api_sub {
    const grd_catalog *catalog;
    size_t max_file, max_request;
    size_t total;              /* bytes of content accepted so far */
    char assignment[SUB_MAX_NAME + 1];
    size_t assignment_len;
    int have_assignment;
    char course[SUB_MAX_NAME + 1];
    size_t course_len;
    int have_course;
    sub_file files[SUB_MAX_FILES];
    size_t nfiles;
    db_file view[SUB_MAX_FILES];
    const grd_assignment *a;
    int status;
    char error[256];
    /* The part the last multipart piece belonged to (its text field's
     * length, or its file), so an announced-empty part's bytes continue it. */
    size_t *last_len;
};

api_sub *api_sub_new(const grd_catalog *c, size_t max_file, size_t max_request)
{
    api_sub *s = calloc(1, sizeof *s);
    if (s) {
        s->catalog = c;
        s->max_file = max_file;
        s->max_request = max_request;
    }
    return s;
}

void api_sub_free(api_sub *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->files[i].name);
        free(s->files[i].data);
    }
    free(s);
}

/* Records the first refusal; returns its status. */
__attribute__((format(printf, 3, 4)))
static int refuse(api_sub *s, int status, const char *fmt, ...)
{
    if (!s->status) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->error, sizeof s->error, fmt, ap);
        va_end(ap);
        s->status = status;
    }
    return s->status;
}

int api_sub_status(const api_sub *s) { return s->status; }
const char *api_sub_error(const api_sub *s) { return s->status ? s->error : ""; }
const grd_assignment *api_sub_assignment(const api_sub *s) { return s->a; }
size_t api_sub_file_count(const api_sub *s) { return s->nfiles; }
const db_file *api_sub_files(const api_sub *s) { return s->view; }

/* A file name we accept at all: a bare name, printable, no path. The
 * assignment's list then decides which bare names are expected. */
static int check_name(api_sub *s, const char *name, size_t len)
{
    if (len == 0)
        return refuse(s, 400, "a file has an empty name");
    if (len > SUB_MAX_NAME)
        return refuse(s, 400, "a file name is longer than %d bytes", SUB_MAX_NAME);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '/' || c == '\\')
            return refuse(s, 400, "file names must not have path components: '%.*s'",
                          (int)len, name);
        if (c < 0x20 || c == 0x7f)
            return refuse(s, 400, "a file name contains control characters");
    }
    if ((len == 1 && name[0] == '.') || (len == 2 && !memcmp(name, "..", 2)))
        return refuse(s, 400, "file names must not have path components: '%.*s'",
                      (int)len, name);
    return 0;
}

static sub_file *find_file(api_sub *s, const char *name)
{
    for (size_t i = 0; i < s->nfiles; i++)
        if (!strcmp(s->files[i].name, name))
            return &s->files[i];
    return NULL;
}

/* Appends bytes to a file, enforcing the per-file and per-request caps. */
static int file_append(api_sub *s, sub_file *f, const char *data, size_t size)
{
    if (size == 0) /* the post processor may pass NULL with an empty part */
        return 0;
    if (size > s->max_file - f->len)
        return refuse(s, 413, "file '%s' is larger than %zu bytes", f->name, s->max_file);
    if (size > s->max_request - s->total)
        return refuse(s, 413, "the request is larger than %zu bytes", s->max_request);
    if (memchr(data, '\0', size))
        return refuse(s, 400, "file '%s' is not text: it contains NUL bytes", f->name);
    char *nd = realloc(f->data, f->len + size + 1);
    if (!nd)
        return refuse(s, 500, "out of memory");
    memcpy(nd + f->len, data, size);
    f->data = nd;
    f->len += size;
    f->data[f->len] = '\0';
    s->total += size;
    return 0;
}

static sub_file *file_new(api_sub *s, const char *name, size_t len)
{
    if (check_name(s, name, len))
        return NULL;
    char tmp[SUB_MAX_NAME + 1];
    memcpy(tmp, name, len);
    tmp[len] = '\0';
    if (find_file(s, tmp)) {
        refuse(s, 400, "file '%s' is given twice", tmp);
        return NULL;
    }
    if (s->nfiles == SUB_MAX_FILES) {
        refuse(s, 400, "too many files (at most %d)", SUB_MAX_FILES);
        return NULL;
    }
    sub_file *f = &s->files[s->nfiles];
    if (!(f->name = strdup(tmp)) || !(f->data = calloc(1, 1))) {
        free(f->name);
        f->name = NULL;
        refuse(s, 500, "out of memory");
        return NULL;
    }
    f->len = 0;
    s->nfiles++;
    return f;
}

/* Whether a multipart piece at offset off continues the part whose length
 * is *len rather than starting a new one. libmicrohttpd's post processor
 * reports every part at offset 0 as soon as the part begins, with no bytes
 * when its value has not arrived yet (the read ended inside it), and then
 * passes those bytes at offset 0 again; so a piece at offset 0 continues
 * the last part when that part is this one and still empty. A second part
 * of the same name after a non-empty one, or after another part, is a
 * duplicate. (An empty part directly followed by a same-named one looks
 * exactly like a split and is taken as one part.) */
static int continues(const api_sub *s, size_t off, size_t *len)
{
    return off != 0 || (s->last_len == len && *len == 0);
}

/* Appends v[0..len) at off to a short text field (assignment, course). */
static int set_text(api_sub *s, const char *field, char *dst, size_t *dlen, int *have,
                    const char *v, size_t off, size_t len)
{
    if (*have && !continues(s, off, dlen))
        return refuse(s, 400, "field '%s' is given twice", field);
    s->last_len = dlen;
    if (off != *dlen || len > SUB_MAX_NAME - *dlen)
        return refuse(s, 400, "field '%s' is not a known %s name", field, field);
    *have = 1;
    if (len == 0)
        return 0;
    if (memchr(v, '\0', len))
        return refuse(s, 400, "field '%s' contains NUL bytes", field);
    memcpy(dst + *dlen, v, len);
    *dlen += len;
    dst[*dlen] = '\0';
    return 0;
}

static int set_assignment(api_sub *s, const char *v, size_t off, size_t len)
{
    return set_text(s, "assignment", s->assignment, &s->assignment_len, &s->have_assignment,
                    v, off, len);
}

static int set_course(api_sub *s, const char *v, size_t off, size_t len)
{
    return set_text(s, "course", s->course, &s->course_len, &s->have_course, v, off, len);
}

const char *api_sub_course(const api_sub *s)
{
    return s->have_course ? s->course : NULL;
}

int api_sub_json(api_sub *s, const char *body, size_t len)
{
    json_error_t jerr;
    int rc;
    if (len > s->max_request)
        return refuse(s, 413, "the request is larger than %zu bytes", s->max_request);
    /* Jansson refuses \u0000 unless asked, so decoded strings have no NULs
     * and strlen() agrees with json_string_length(). */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = refuse(s, 400, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                    jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = refuse(s, 400, "the body must be a JSON object");
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "assignment") && strcmp(key, "files") && strcmp(key, "course")) {
            rc = refuse(s, 400, "unknown field '%.64s'", key);
            goto out;
        }
    }
    json_t *a = json_object_get(root, "assignment");
    if (!json_is_string(a)) {
        rc = refuse(s, 400, "field 'assignment' must be a string");
        goto out;
    }
    if ((rc = set_assignment(s, json_string_value(a), 0, json_string_length(a))))
        goto out;
    json_t *c = json_object_get(root, "course");
    if (c && !json_is_string(c)) {
        rc = refuse(s, 400, "field 'course' must be a string");
        goto out;
    }
    if (c && (rc = set_course(s, json_string_value(c), 0, json_string_length(c))))
        goto out;
    json_t *files = json_object_get(root, "files");
    if (!json_is_object(files)) {
        rc = refuse(s, 400, "field 'files' must be an object of file name to source text");
        goto out;
    }
    json_object_foreach(files, key, val) {
        if (!json_is_string(val)) {
            rc = refuse(s, 400, "file '%.64s' must be a string of source text", key);
            goto out;
        }
        sub_file *f = file_new(s, key, strlen(key));
        if (!f) {
            rc = s->status;
            goto out;
        }
        if ((rc = file_append(s, f, json_string_value(val), json_string_length(val))))
            goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int api_sub_part(api_sub *s, const char *key, const char *filename,
                 const char *data, size_t off, size_t size)
{
    if (s->status)
        return s->status;
    if (!key)
        key = "";
    if (!filename) {
        if (!strcmp(key, "course"))
            return set_course(s, data, off, size);
        if (strcmp(key, "assignment"))
            return refuse(s, 400, "unexpected form field '%.64s' (file parts need a filename)",
                          key);
        return set_assignment(s, data, off, size);
    }
    size_t nlen = strlen(filename);
    char name[SUB_MAX_NAME + 1];
    if (nlen > SUB_MAX_NAME)
        return refuse(s, 400, "a file name is longer than %d bytes", SUB_MAX_NAME);
    memcpy(name, filename, nlen + 1);
    sub_file *f = find_file(s, name);
    if (!f || !continues(s, off, &f->len)) {
        if (off != 0)
            return refuse(s, 400, "malformed multipart body");
        if (!(f = file_new(s, name, nlen)))
            return s->status;
    }
    if (off != f->len)
        return refuse(s, 400, "malformed multipart body");
    s->last_len = &f->len;
    return file_append(s, f, data, size);
}

int api_sub_finish(api_sub *s)
{
    if (s->status)
        return s->status;
    if (!s->have_assignment)
        return refuse(s, 400, "field 'assignment' is missing");
    if (!(s->a = grd_catalog_find(s->catalog, s->assignment)))
        return refuse(s, 400, "unknown assignment '%.64s'", s->assignment);
    size_t want = grd_assignment_file_count(s->a);
    for (size_t i = 0; i < want; i++) {
        const char *name = grd_assignment_file(s->a, i);
        if (!find_file(s, name))
            return refuse(s, 400, "assignment '%s' expects file '%s'", s->assignment, name);
    }
    for (size_t i = 0; i < s->nfiles; i++) {
        int known = 0;
        for (size_t k = 0; k < want; k++)
            known |= !strcmp(s->files[i].name, grd_assignment_file(s->a, k));
        if (!known)
            return refuse(s, 400, "assignment '%s' does not take file '%.64s'",
                          s->assignment, s->files[i].name);
    }
    for (size_t i = 0; i < s->nfiles; i++)
        s->view[i] = (db_file){s->files[i].name, s->files[i].data, s->files[i].len};
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const db_file *)a)->name, ((const db_file *)b)->name);
}

int api_sub_digest(const api_sub *s, uint8_t out[32])
{
    db_file sorted[SUB_MAX_FILES];
    size_t total = strlen(s->assignment) + 1;
    memcpy(sorted, s->view, s->nfiles * sizeof *sorted);
    qsort(sorted, s->nfiles, sizeof *sorted, by_name);
    for (size_t i = 0; i < s->nfiles; i++)
        total += strlen(sorted[i].name) + 1 + 20 + sorted[i].len;
    char *buf = malloc(total), *p = buf;
    if (!buf)
        return -1;
    /* name NUL length NUL bytes: unambiguous whatever the bytes are. */
    p += sprintf(p, "%s", s->assignment) + 1;
    for (size_t i = 0; i < s->nfiles; i++) {
        p += sprintf(p, "%s", sorted[i].name) + 1;
        p += sprintf(p, "%zu", sorted[i].len) + 1;
        memcpy(p, sorted[i].data, sorted[i].len);
        p += sorted[i].len;
    }
    auth_sha256(buf, (size_t)(p - buf), out);
    free(buf);
    return 0;
}
