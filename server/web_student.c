/* web_student: the pages a student lives in: their courses and assignments
 * (/), one assignment's submit form and history (/courses/C/A) and one
 * submission's feedback (/submissions/ID). Data comes through the API's own
 * routes (web_api_get), so a page shows exactly what the API would, and
 * the same role rules hold (someone else's submission is 404 here too). */
#include "web.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

/* ---- small helpers ------------------------------------------------------------ */

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* "2026-12-01T23:59:00.000Z" as <time>, with a UTC text for readers
 * without JS (app.js shows it in their own time zone). */
static void iso_time_el(web_buf *b, const char *iso, const char *none)
{
    if (!iso || strlen(iso) < 16) {
        web_printf(b, "%s", none);
        return;
    }
    web_printf(b, "<time datetime=\"%s\">%.10s %.5s UTC</time>", iso, iso, iso + 11);
}

static void score_text(web_buf *b, double score, double max)
{
    web_printf(b, "%g / %g", score, max);
}

/* ---- / : courses and assignments ------------------------------------------------- */

typedef struct {
    const char *assignment;
    int n, graded;
    double best, max;
    int64_t best_id;
} best_row;

/* Best final score per assignment of this user's submissions in a course. */
static size_t best_scores(api_req *r, const char *course, best_row *rows, size_t cap,
                          json_t **keep)
{
    web_buf p = WEB_BUF_INIT;
    web_raw(&p, "/api/v1/submissions?limit=1000&course=");
    web_url(&p, course);
    web_raw(&p, "&user=");
    web_url(&p, r->user.name);
    json_t *doc = NULL;
    size_t n = 0;
    if (!p.failed && web_api_get(r, p.p, &doc) == 200) {
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(doc, "submissions"), i, s) {
            const char *a = jstr(s, "assignment");
            if (!a)
                continue;
            size_t k = 0;
            while (k < n && strcmp(rows[k].assignment, a))
                k++;
            if (k == n) {
                if (n == cap)
                    continue;
                rows[n++] = (best_row){.assignment = a};
            }
            rows[k].n++;
            json_t *fs = json_object_get(s, "final_score");
            if (json_is_number(fs)) {
                double v = json_number_value(fs);
                if (!rows[k].graded || v > rows[k].best) {
                    rows[k].best = v;
                    rows[k].best_id = json_integer_value(json_object_get(s, "id"));
                }
                rows[k].graded = 1;
                rows[k].max = json_number_value(json_object_get(s, "max_score"));
            }
        }
    }
    free(p.p);
    *keep = doc; /* rows point into it */
    return n;
}

static void course_section(web_buf *b, api_req *r, const json_t *course)
{
    const char *id = jstr(course, "id"), *title = jstr(course, "title");
    const char *role = jstr(course, "role");
    if (!id)
        return;
    int staff = role && strcmp(role, "student");
    web_printf(b, "<section class=\"course\" aria-labelledby=\"c-%s\">\n"
                  "<h2 id=\"c-%s\">%s <span class=\"muted\">(%s)</span></h2>\n",
               id, id, title ? title : id, id);
    if (staff) {
        web_printf(b, "<p>You are <strong>%s</strong> here. <a href=\"/dashboard/", role);
        web_url(b, id);
        web_raw(b, "\">Open the course dashboard</a></p>\n");
    }
    web_buf p = WEB_BUF_INIT;
    web_raw(&p, "/api/v1/courses/");
    web_url(&p, id);
    web_raw(&p, "/assignments");
    json_t *offers = NULL, *subs = NULL;
    int st = p.failed ? 500 : web_api_get(r, p.p, &offers);
    free(p.p);
    json_t *list = json_object_get(offers, "assignments");
    if (st != 200 || !json_array_size(list)) {
        web_raw(b, "<p>No assignments are offered here yet.</p>\n</section>\n");
        json_decref(offers);
        return;
    }
    best_row best[64];
    size_t nbest = best_scores(r, id, best, 64, &subs);
    web_raw(b, "<table class=\"list\">\n<thead><tr><th scope=\"col\">Assignment</th>"
               "<th scope=\"col\">Due</th><th scope=\"col\">Attempts left</th>"
               "<th scope=\"col\">Best score</th></tr></thead>\n<tbody>\n");
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) {
        const char *a = jstr(o, "assignment"), *t = jstr(o, "title");
        if (!a)
            continue;
        json_t *ext = json_object_get(o, "extension");
        const char *due = json_is_object(ext) ? jstr(ext, "due") : jstr(o, "due");
        web_raw(b, "<tr><th scope=\"row\" data-label=\"Assignment\"><a href=\"/courses/");
        web_url(b, id);
        web_raw(b, "/");
        web_url(b, a);
        web_printf(b, "\">%s</a> <span class=\"muted\">%s</span></th>", t ? t : a,
                   t ? a : "");
        web_raw(b, "<td data-label=\"Due\">");
        iso_time_el(b, due, "no deadline");
        if (json_is_object(ext))
            web_raw(b, " <span class=\"badge\">extended</span>");
        web_raw(b, "</td><td data-label=\"Attempts left\">");
        json_t *max = json_object_get(o, "max_submissions");
        json_int_t used = json_integer_value(json_object_get(o, "submissions_used"));
        if (json_is_integer(max)) {
            json_int_t left = json_integer_value(max) - used;
            web_printf(b, "%lld of %lld", (long long)(left > 0 ? left : 0),
                       (long long)json_integer_value(max));
        } else {
            web_raw(b, "unlimited");
        }
        web_raw(b, "</td><td data-label=\"Best score\">");
        const best_row *br = NULL;
        for (size_t k = 0; k < nbest; k++)
            if (!strcmp(best[k].assignment, a))
                br = &best[k];
        if (br && br->graded) {
            web_printf(b, "<a href=\"/submissions/%" PRId64 "\">", br->best_id);
            score_text(b, br->best, br->max);
            web_raw(b, "</a>");
        } else {
            web_raw(b, br ? "not graded yet" : "not submitted");
        }
        web_raw(b, "</td></tr>\n");
    }
    web_raw(b, "</tbody>\n</table>\n</section>\n");
    json_decref(subs);
    json_decref(offers);
}

static int h_home(api_req *r)
{
    if (web_require_user(r))
        return r->status;
    json_t *courses = NULL;
    int st = web_api_get(r, "/api/v1/courses", &courses);
    if (st != 200) {
        json_decref(courses);
        return web_error(r, st >= 500 ? st : 500, "Your courses could not be loaded.");
    }
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, "Your courses");
    web_raw(&b, "<h1>Your courses</h1>\n");
    json_t *list = json_object_get(courses, "courses");
    if (!json_array_size(list))
        web_raw(&b, "<p>You are not in any course yet: ask your instructor to enrol you.</p>\n");
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
        course_section(&b, r, c);
    json_decref(courses);
    web_page_end(&b);
    return web_send(r, 200, &b);
}

/* ---- /courses/C/A : submit and history ------------------------------------------------ */

/* The offer of assignment a in course c as the API shows it to this user;
 * NULL (and the status in *st) when the course or assignment is not theirs. */
static json_t *find_offer(api_req *r, const char *c, const char *a, json_t **doc, int *st)
{
    web_buf p = WEB_BUF_INIT;
    web_raw(&p, "/api/v1/courses/");
    web_url(&p, c);
    web_raw(&p, "/assignments");
    *doc = NULL;
    *st = p.failed ? 500 : web_api_get(r, p.p, doc);
    free(p.p);
    if (*st != 200)
        return NULL;
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(*doc, "assignments"), i, o)
        if (jstr(o, "assignment") && !strcmp(jstr(o, "assignment"), a))
            return o;
    *st = 404;
    return NULL;
}

static void history(web_buf *b, api_req *r, const char *c, const char *a)
{
    web_buf p = WEB_BUF_INIT;
    web_raw(&p, "/api/v1/submissions?limit=200&course=");
    web_url(&p, c);
    web_raw(&p, "&assignment=");
    web_url(&p, a);
    web_raw(&p, "&user=");
    web_url(&p, r->user.name);
    json_t *doc = NULL;
    int st = p.failed ? 500 : web_api_get(r, p.p, &doc);
    free(p.p);
    json_t *list = json_object_get(doc, "submissions");
    web_raw(b, "<section aria-labelledby=\"hist\">\n<h2 id=\"hist\">Your submissions</h2>\n");
    if (st != 200 || !json_array_size(list)) {
        web_raw(b, st == 200 ? "<p>None yet.</p>\n" : "<p>Your submissions could not be "
                                                       "loaded.</p>\n");
    } else {
        web_raw(b, "<table class=\"list\" id=\"history\">\n<thead><tr><th scope=\"col\">"
                   "Submission</th><th scope=\"col\">Sent</th><th scope=\"col\">Status</th>"
                   "<th scope=\"col\">Score</th></tr></thead>\n<tbody>\n");
        size_t i;
        json_t *s;
        json_array_foreach(list, i, s) {
            json_int_t id = json_integer_value(json_object_get(s, "id"));
            web_printf(b, "<tr><th scope=\"row\" data-label=\"Submission\"><a href=\""
                          "/submissions/%lld\">#%lld</a></th><td data-label=\"Sent\">",
                       (long long)id, (long long)id);
            iso_time_el(b, jstr(s, "created_at"), "");
            const char *rs = jstr(s, "result_status");
            web_printf(b, "</td><td data-label=\"Status\">%s</td><td data-label=\"Score\">",
                       rs ? (strcmp(rs, "graded") ? (strcmp(rs, "compile_error")
                                                         ? "grading failed" : "did not compile")
                                                  : "graded")
                          : jstr(s, "status"));
            json_t *fs = json_object_get(s, "final_score");
            if (json_is_number(fs))
                score_text(b, json_number_value(fs),
                           json_number_value(json_object_get(s, "max_score")));
            else
                web_raw(b, "—");
            if (json_integer_value(json_object_get(s, "late_days")) > 0)
                web_printf(b, " <span class=\"badge\">late %lld d</span>",
                           (long long)json_integer_value(json_object_get(s, "late_days")));
            web_raw(b, "</td></tr>\n");
        }
        web_raw(b, "</tbody>\n</table>\n");
    }
    web_raw(b, "</section>\n");
    json_decref(doc);
}

/* The assignment page; msg (NULL: none) a refusal of the last upload. */
static int assignment_page(api_req *r, int status, const char *msg)
{
    const char *c = r->params[0], *a = r->params[1];
    json_t *doc = NULL;
    int st;
    json_t *o = find_offer(r, c, a, &doc, &st);
    if (!o) {
        json_decref(doc);
        return web_error(r, st == 404 || st == 403 ? 404 : st,
                         st == 404 || st == 403 ? "This course does not offer that assignment "
                                                  "to you."
                                                : "The assignment could not be loaded.");
    }
    const grd_assignment *ga = grd_catalog_find(r->s->catalog, a);
    const char *title = jstr(o, "title");
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, title ? title : a);
    web_printf(&b, "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/\">Courses</a> › "
                   "%s</nav>\n<h1>%s <span class=\"muted\">(%s)</span></h1>\n",
               c, title ? title : a, a);
    if (msg)
        web_printf(&b, "<p class=\"notice error\" role=\"alert\" id=\"upload-error\">"
                       "<span class=\"icon\" aria-hidden=\"true\">⚠</span> "
                       "<strong>Not submitted.</strong> %s</p>\n", msg);
    json_t *ext = json_object_get(o, "extension");
    const char *due = json_is_object(ext) ? jstr(ext, "due") : jstr(o, "due");
    const char *until = json_is_object(ext) ? jstr(ext, "accept_until") : jstr(o, "accept_until");
    web_raw(&b, "<dl class=\"facts\">\n<dt>Due</dt><dd>");
    iso_time_el(&b, due, "no deadline");
    if (json_is_object(ext))
        web_raw(&b, " (your extension)");
    web_raw(&b, "</dd>\n");
    if (until) {
        web_raw(&b, "<dt>Accepted until</dt><dd>");
        iso_time_el(&b, until, "");
        double pen = json_number_value(json_object_get(o, "late_penalty_per_day"));
        if (pen > 0)
            web_printf(&b, " (late: −%g%% of the points per started day)", pen);
        web_raw(&b, "</dd>\n");
    }
    json_t *max = json_object_get(o, "max_submissions");
    json_int_t used = json_integer_value(json_object_get(o, "submissions_used"));
    web_raw(&b, "<dt>Attempts left</dt><dd>");
    if (json_is_integer(max))
        web_printf(&b, "%lld of %lld", (long long)(json_integer_value(max) - used > 0
                                                       ? json_integer_value(max) - used : 0),
                   (long long)json_integer_value(max));
    else
        web_raw(&b, "unlimited");
    web_raw(&b, "</dd>\n<dt>Files</dt><dd>");
    for (size_t i = 0; ga && i < grd_assignment_file_count(ga); i++)
        web_printf(&b, "%s<code>%s</code>", i ? ", " : "", grd_assignment_file(ga, i));
    web_raw(&b, "</dd>\n</dl>\n");

    const char *first = ga && grd_assignment_file_count(ga) ? grd_assignment_file(ga, 0) : "";
    web_raw(&b, "<section aria-labelledby=\"up\">\n<h2 id=\"up\">Submit</h2>\n"
                "<form method=\"post\" enctype=\"multipart/form-data\" class=\"stack\" "
                "id=\"submit-form\" action=\"/courses/");
    web_url(&b, c);
    web_raw(&b, "/");
    web_url(&b, a);
    web_raw(&b, "\">\n");
    web_csrf_field(&b, r);
    web_printf(&b, "\n<div class=\"drop\" id=\"drop\">\n"
                   "<label for=\"files\">Your file(s)</label>\n"
                   "<input type=\"file\" id=\"files\" name=\"files\" multiple "
                   "accept=\".c,.h,text/x-c,text/plain\" aria-describedby=\"drop-hint\">\n"
                   "<p class=\"hint\" id=\"drop-hint\">Choose files, or drop them here.</p>\n"
                   "<ul id=\"chosen\" class=\"chosen\" aria-live=\"polite\"></ul>\n</div>\n"
                   "<details id=\"paste\"><summary>Or paste the source</summary>\n"
                   "<label for=\"paste_name\">File name</label>\n"
                   "<input id=\"paste_name\" name=\"paste_name\" value=\"%s\" maxlength=\"128\" "
                   "spellcheck=\"false\">\n"
                   "<label for=\"paste_text\">Source</label>\n"
                   "<textarea id=\"paste_text\" name=\"paste_text\" rows=\"12\" "
                   "spellcheck=\"false\" autocapitalize=\"none\"></textarea>\n</details>\n"
                   "<button type=\"submit\">Submit for grading</button>\n</form>\n</section>\n",
               first);
    history(&b, r, c, a);
    web_page_end(&b);
    json_decref(doc);
    return web_send(r, status, &b);
}

static int h_assignment(api_req *r)
{
    if (web_require_user(r))
        return r->status;
    return assignment_page(r, 200, NULL);
}

/* The submit form's multipart parts: files go to the submission parser
 * as they are, the paste box becomes a file named by paste_name, csrf is
 * kept for the handler. A file input left empty sends a part without a
 * file name: skipped. */
static enum MHD_Result web_post_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *filename, const char *content_type,
                                     const char *transfer_encoding, const char *data,
                                     uint64_t off, size_t size)
{
    api_req *r = cls;
    (void)kind, (void)content_type, (void)transfer_encoding;
    char *field = NULL;
    size_t cap = 0;
    if (!key)
        key = "";
    if (!filename && !strcmp(key, "csrf"))
        field = r->web.form_csrf, cap = sizeof r->web.form_csrf;
    else if (!filename && !strcmp(key, "paste_name"))
        field = r->web.paste_name, cap = sizeof r->web.paste_name;
    if (field) {
        /* Written at its offset: a value split across reads (reported at
         * offset 0 again by libmicrohttpd) lands where it belongs. */
        if (off + size >= cap)
            return MHD_NO; /* answered 400: malformed */
        memcpy(field + off, data, size);
        field[off + size] = '\0';
        return MHD_YES;
    }
    if (!filename && !strcmp(key, "paste_text")) {
        if (off == 0 && size == 0)
            return MHD_YES; /* nothing pasted (or not yet arrived) */
        const char *name = r->web.paste_name;
        name += strspn(name, " \t");
        const grd_assignment *ga = grd_catalog_find(r->s->catalog, r->params[1]);
        if (!*name && ga && grd_assignment_file_count(ga))
            name = grd_assignment_file(ga, 0); /* the name box left empty */
        return api_sub_part(r->sub, "files", name, data, (size_t)off, size) ? MHD_NO : MHD_YES;
    }
    if (filename && !*filename)
        return MHD_YES;
    return api_sub_part(r->sub, key, filename, data, (size_t)off, size) ? MHD_NO : MHD_YES;
}

/* The API's JSON refusal (r->body) as this page: the assignment page with
 * the message. */
static int refusal_page(api_req *r)
{
    int st = r->status ? r->status : 500;
    json_t *e = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    char msg[600];
    const char *m = jstr(e, "error");
    const char *why = st == 413 ? "The upload is too large" :
                      st == 429 ? "Not now" :
                      st == 403 ? "Not accepted" :
                      st == 503 ? "The server is busy" : "The upload was refused";
    snprintf(msg, sizeof msg, "%s: %s.", why, m ? m : "no reason given");
    json_decref(e);
    if (r->retry_after[0] && st != 429)
        snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " Try again in %s s.",
                 r->retry_after);
    return assignment_page(r, st, msg);
}

static int web_submit_begin(api_req *r)
{
    if (!web_session(r))
        return web_error(r, 403, "You are not logged in (or your session ended): log in and "
                                 "submit again.");
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strncasecmp(ct, "multipart/form-data", 19))
        return web_error(r, 415, "Send the form as multipart/form-data (the page's own form "
                                 "does).");
    if (api_submit_begin(r))
        return refusal_page(r);
    /* Our own part handler; the submission's course and assignment come
     * from the address. */
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    r->pp = MHD_create_post_processor(r->conn, 16 * 1024, web_post_iter, r);
    if (!r->pp)
        return web_error(r, 400, "The upload has no multipart boundary.");
    if (api_sub_part(r->sub, "assignment", NULL, r->params[1], 0, strlen(r->params[1])) ||
        api_sub_part(r->sub, "course", NULL, r->params[0], 0, strlen(r->params[0]))) {
        reply_error(r, api_sub_status(r->sub), "%s", api_sub_error(r->sub));
        return refusal_page(r);
    }
    return 0;
}

static int h_submit_post(api_req *r)
{
    /* A body refused while it was read (too large, malformed) is answered
     * as such: nothing is stored, so the token need not be checked first
     * (and may never have arrived). */
    if (r->pending) {
        api_submit(r);
        return refusal_page(r);
    }
    if (!web_csrf_ok(r, r->web.form_csrf))
        return web_require_csrf(r, NULL);
    if (api_submit(r) != 202)
        return refusal_page(r);
    json_t *doc = json_loadb(r->body, r->body_len, 0, NULL);
    json_int_t id = json_integer_value(json_object_get(doc, "id"));
    json_decref(doc);
    char url[64];
    snprintf(url, sizeof url, "/submissions/%lld", (long long)id);
    return web_redirect(r, url);
}

/* ---- /submissions/ID : the feedback ------------------------------------------------------ */

/* A memory-error kind in the lecture's words. */
static const struct {
    const char *kind, *title, *lesson;
} kinds[] = {
    {"heap_overflow", "Heap buffer overflow",
     "The code read or wrote outside the block malloc gave it. Count the bytes: a string "
     "needs strlen(s) + 1 for its '\\0', an array of n elements n * sizeof *p."},
    {"use_after_free", "Use after free",
     "The block was already given back with free(); the pointer still points at it (a "
     "dangling pointer). Set pointers to NULL after free, or free later."},
    {"double_free", "Double free",
     "free() was called twice on the same block. Each malloc gets exactly one free."},
    {"invalid_free", "Invalid free",
     "free() got a pointer malloc never returned: only pass free() exactly what malloc, "
     "calloc or realloc gave you."},
    {"leak", "Memory leak",
     "A block was still allocated at the end: every malloc needs a free once the memory "
     "is no longer used, also on error paths."},
    {"uninitialized_read", "Uninitialized read",
     "The result depends on heap memory that was never written: malloc does not zero "
     "memory (calloc does)."},
    {"null_dereference", "NULL dereference",
     "The code followed a NULL pointer: check what malloc returns, and arguments that may "
     "be NULL."},
    {"wild_access", "Invalid access",
     "The code used an address that is not valid memory: an uninitialized pointer, or "
     "memory that was never allocated."},
    {"unchecked_alloc_failure", "Unchecked allocation failure",
     "When malloc returned NULL the program crashed or misbehaved: check every allocation "
     "and fail cleanly."},
    {"stack_overflow", "Stack overflow",
     "The stack ran out: runaway recursion, or a local array too large for the stack."},
};

static int kind_index(const char *k)
{
    for (size_t i = 0; k && i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kinds[i].kind, k))
            return (int)i;
    return -1;
}

typedef struct {
    char name[130];
    char *text;
    size_t len;
} src_file;

typedef struct {
    src_file files[8];
    size_t n;
} src_set;

/* "mystr.c:17" → file index in set and line; -1 when not one of theirs. */
static int locate(const src_set *s, const char *loc, long *line)
{
    if (!loc)
        return -1;
    const char *colon = strrchr(loc, ':');
    if (!colon)
        return -1;
    char *end;
    long l = strtol(colon + 1, &end, 10);
    if (*end || l <= 0)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->files[i].name) == (size_t)(colon - loc) &&
            !strncmp(s->files[i].name, loc, (size_t)(colon - loc))) {
            *line = l;
            return (int)i;
        }
    return -1;
}

/* The anchor of a source line: L{n} in the first file, F{k}L{n} after. */
static void line_id(web_buf *b, int file, long line)
{
    if (file == 0)
        web_printf(b, "L%ld", line);
    else
        web_printf(b, "F%dL%ld", file, line);
}

/* A location as a link to its line when it is in the student's code. */
static void loc_link(web_buf *b, const src_set *s, const char *loc)
{
    long line;
    int f = locate(s, loc, &line);
    if (f < 0) {
        web_printf(b, "<code>%s</code>", loc ? loc : "an unknown place");
        return;
    }
    web_raw(b, "<a href=\"#");
    line_id(b, f, line);
    web_printf(b, "\"><code>%s</code> line %ld</a>", s->files[f].name, line);
}

/* A number that follows pat in msg ("of a %ld-byte"), or -1. */
static long num_after(const char *msg, const char *pat, const char *suffix)
{
    for (const char *p = msg; (p = strstr(p, pat)); p++) {
        const char *q = p + strlen(pat);
        char *end;
        long v = strtol(q, &end, 10);
        if (end != q && !strncmp(end, suffix, strlen(suffix)))
            return v;
    }
    return -1;
}

/* The number right before suffix in msg ("3 byte(s) past"), or -1. */
static long num_before(const char *msg, const char *suffix)
{
    const char *p = strstr(msg, suffix);
    if (!p || p == msg)
        return -1;
    const char *q = p;
    while (q > msg && q[-1] >= '0' && q[-1] <= '9')
        q--;
    return q < p ? strtol(q, NULL, 10) : -1;
}

/* The block of a heap error, drawn: one cell per byte (the middle elided
 * when large), the bytes around it, and where the access landed. The
 * numbers come from the error's "block" (size, offset, how it was seen),
 * which the graders add to heap errors; results stored before it existed
 * are read from the message's words. */
static void block_svg(web_buf *b, const char *kind, const char *msg, const char *alloc,
                      const json_t *blk)
{
    long size = num_after(msg, "of a ", "-byte heap block");
    if (size < 0)
        size = num_after(msg, "the ", "-byte block");
    int freed = !strcmp(kind, "use_after_free") || !strcmp(kind, "double_free");
    long off = 0; /* the bad byte's offset from the block start */
    int known = 1;
    if (json_is_integer(json_object_get(blk, "size"))) {
        /* The grader's own figures (its "block"): no words to read. */
        size = (long)json_integer_value(json_object_get(blk, "size"));
        off = (long)json_integer_value(json_object_get(blk, "offset"));
        const char *seen = json_string_value(json_object_get(blk, "seen"));
        known = !seen || strcmp(seen, "at_free");
        if (!known)
            off = off < 0 ? -1 : size;
    } else if (!strcmp(kind, "heap_overflow")) {
        long past = num_before(msg, " byte(s) past the end");
        long before = num_before(msg, " byte(s) before the start");
        if (strstr(msg, "right after the end") && size >= 0)
            off = size;
        else if (past > 0 && size >= 0)
            off = size + past - 1;
        else if (before > 0)
            off = -before;
        else if (strstr(msg, "before the start") && size >= 0)
            off = -1, known = 0; /* found when freed: somewhere before it */
        else if (size >= 0)
            off = size, known = 0; /* found when freed: somewhere past the end */
        else
            return;
    } else if (!freed || size < 0) {
        return;
    }
    if (size < 0 || size > (1L << 30))
        return;
    /* Cells: up to 16 of the block (first 8 … last 7 when larger), plus up
     * to 3 on each side outside it. */
    long lo = off < 0 ? off : 0, hi = off >= size ? off : size - 1;
    if (lo < -3)
        lo = -3;
    if (hi > size + 2)
        hi = size + 2;
    if (!freed && off >= size && hi < off)
        hi = off;
    int cw = 30, x0 = 10, y0 = 34, ch = 30;
    long cells[40];
    int nc = 0;
    for (long i = lo; i <= hi && nc < 38; i++) {
        if (size > 16 && i >= 8 && i < size - 7 && !(i == off)) {
            if (nc == 0 || cells[nc - 1] != -1000000)
                cells[nc++] = -1000000; /* the elided middle */
            continue;
        }
        cells[nc++] = i;
    }
    int w = x0 * 2 + nc * cw, h = 110;
    if (w < 440)
        w = 440; /* room for the caption and the note */
    char label[200];
    if (freed)
        snprintf(label, sizeof label, "A %ld-byte heap block that was already freed; the "
                                      "access landed inside it.", size);
    else if (off >= size && known)
        snprintf(label, sizeof label, "A %ld-byte heap block (bytes 0 to %ld); the access "
                                      "landed at byte %ld, %ld past the end.",
                 size, size - 1, off, off - size + 1);
    else if (off >= size)
        snprintf(label, sizeof label, "A %ld-byte heap block (bytes 0 to %ld); the code wrote "
                                      "somewhere past its end.", size, size - 1);
    else if (known)
        snprintf(label, sizeof label, "A %ld-byte heap block; the access landed %ld byte(s) "
                                      "before its start.", size, -off);
    else
        snprintf(label, sizeof label, "A %ld-byte heap block; the code wrote somewhere before "
                                      "its start.", size);
    web_printf(b, "<figure class=\"block\"><svg role=\"img\" aria-label=\"%s\" "
                  "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" class=\"blocksvg\">"
                  "<title>%s</title>",
               label, w, h, w, h, label);
    web_printf(b, "<text x=\"%d\" y=\"16\" class=\"svg-cap\">%s%ld-byte block%s%s</text>",
               x0, freed ? "freed " : "", size, alloc ? " from " : "", alloc ? alloc : "");
    for (int k = 0; k < nc; k++) {
        int x = x0 + k * cw;
        long i = cells[k];
        if (i == -1000000) {
            web_printf(b, "<text x=\"%d\" y=\"%d\" class=\"svg-gap\">…</text>", x + 7, y0 + 20);
            continue;
        }
        int inside = i >= 0 && i < size;
        const char *cls = i == off && !freed ? "svg-bad" : inside ? (freed ? "svg-freed" : "svg-byte")
                                                                  : "svg-out";
        web_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"%s\"/>", x,
                   y0, cw - 2, ch, cls);
        if (inside && freed)
            web_printf(b, "<text x=\"%d\" y=\"%d\" class=\"svg-x\">×</text>", x + 7, y0 + 20);
        if (i == 0 || i == size - 1 || i == off || i == size)
            web_printf(b, "<text x=\"%d\" y=\"%d\" class=\"svg-idx\">%ld</text>", x + 2,
                       y0 + ch + 14, i);
    }
    /* The end of the block: a thick line after its last byte. */
    for (int k = 0; k < nc; k++)
        if (cells[k] == size - 1 || (size == 0 && cells[k] == 0))
            web_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"svg-end\"/>",
                       x0 + (k + 1) * cw - 1, y0 - 6, x0 + (k + 1) * cw - 1, y0 + ch + 4);
    /* The arrow at the access. */
    int at = -1;
    for (int k = 0; k < nc; k++)
        if (cells[k] == off || (freed && cells[k] == 0))
            at = k;
    if (at >= 0) {
        int ax = x0 + at * cw + cw / 2 - 1;
        web_printf(b, "<path d=\"M%d %d l-5 9 h10 z\" class=\"svg-arrow\"/>", ax, y0 + ch + 20);
        int right = ax > w / 2; /* the note then ends at the arrow */
        web_printf(b, "<text x=\"%d\" y=\"%d\" class=\"svg-note\" text-anchor=\"%s\">%s"
                      "</text>",
                   right ? ax + 10 : ax - 10 > 0 ? ax - 10 : 2, y0 + ch + 40,
                   right ? "end" : "start",
                   freed ? "access inside the freed block"
                   : off == size ? "1 byte past the end"
                   : off > size ? (known ? "past the end" : "somewhere past the end")
                   : known ? "before the start" : "somewhere before the start");
    }
    web_raw(b, "</svg><figcaption>");
    web_printf(b, "%s", label);
    web_raw(b, "</figcaption></figure>");
}

static void memory_errors(web_buf *b, const json_t *errs, const src_set *s)
{
    size_t n = json_array_size(errs);
    web_printf(b, "<section aria-labelledby=\"merrs\">\n<h2 id=\"merrs\">Memory errors "
                  "<span class=\"count\">(%zu)</span></h2>\n", n);
    if (!n) {
        web_raw(b, "<p class=\"notice ok\"><span class=\"icon\" aria-hidden=\"true\">✓</span> "
                   "No memory errors found.</p>\n</section>\n");
        return;
    }
    web_raw(b, "<ol class=\"merrs\">\n");
    size_t i;
    json_t *e;
    json_array_foreach(errs, i, e) {
        const char *kind = jstr(e, "kind"), *loc = jstr(e, "location");
        int k = kind_index(kind);
        web_printf(b, "<li class=\"merr\" id=\"merr-%zu\" data-kind=\"%s\" data-location=\"%s\">"
                      "<h3><span class=\"icon\" aria-hidden=\"true\">⚠</span> %s</h3>\n"
                      "<p class=\"msg\">%s</p>\n<p class=\"where\">At ",
                   i + 1, kind ? kind : "", loc ? loc : "", k >= 0 ? kinds[k].title : kind,
                   jstr(e, "message"));
        loc_link(b, s, loc);
        if (jstr(e, "alloc_location")) {
            web_raw(b, "; allocated at ");
            loc_link(b, s, jstr(e, "alloc_location"));
        }
        if (jstr(e, "free_location")) {
            web_raw(b, "; freed at ");
            loc_link(b, s, jstr(e, "free_location"));
        }
        web_raw(b, ".</p>\n");
        if (kind && jstr(e, "message"))
            block_svg(b, kind, jstr(e, "message"), jstr(e, "alloc_location"),
                      json_object_get(e, "block"));
        if (k >= 0)
            web_printf(b, "<p class=\"lesson\">%s</p>\n", kinds[k].lesson);
        json_t *stack = json_object_get(e, "stack");
        if (json_array_size(stack)) {
            web_raw(b, "<details><summary>Call stack</summary><ol class=\"stack\">");
            size_t j;
            json_t *f;
            json_array_foreach(stack, j, f)
                web_printf(b, "<li><code>%s</code></li>", json_string_value(f));
            web_raw(b, "</ol></details>\n");
        }
        web_raw(b, "</li>\n");
    }
    web_raw(b, "</ol>\n</section>\n");
}

static const char *test_word(const char *st)
{
    return !st ? "?" : !strcmp(st, "passed") ? "passed" : !strcmp(st, "failed") ? "failed"
         : !strcmp(st, "timeout") ? "timed out" : !strcmp(st, "error") ? "error" : st;
}

static void tests_table(web_buf *b, const json_t *doc, int staff)
{
    json_t *tests = json_object_get(doc, "tests");
    json_t *hidden = json_object_get(doc, "hidden_tests");
    web_raw(b, "<section aria-labelledby=\"tests\">\n<h2 id=\"tests\">Tests</h2>\n");
    if (json_array_size(tests)) {
        web_raw(b, "<table class=\"list tests\">\n<thead><tr><th scope=\"col\">Test</th>"
                   "<th scope=\"col\">Result</th><th scope=\"col\">Points</th></tr></thead>\n"
                   "<tbody>\n");
        size_t i;
        json_t *t;
        json_array_foreach(tests, i, t) {
            const char *st = jstr(t, "status"), *vis = jstr(t, "visibility");
            int ok = st && !strcmp(st, "passed");
            web_printf(b, "<tr class=\"%s\"><th scope=\"row\" data-label=\"Test\">%s",
                       ok ? "pass" : "fail", jstr(t, "name"));
            if (staff && vis && strcmp(vis, "visible"))
                web_printf(b, " <span class=\"badge\">%s</span>",
                           !strcmp(vis, "hidden") ? "hidden from students" : "shown after due");
            const char *out = jstr(t, "output");
            if (out && *out && !ok)
                web_printf(b, "<details><summary>What happened</summary><pre>%s</pre>"
                              "</details>", out);
            web_printf(b, "</th><td data-label=\"Result\"><span class=\"res %s\">"
                          "<span aria-hidden=\"true\">%s</span> %s</span></td>"
                          "<td data-label=\"Points\">%g / %g</td></tr>\n",
                       ok ? "pass" : "fail", ok ? "✓" : "✗", test_word(st),
                       json_number_value(json_object_get(t, "score")),
                       json_number_value(json_object_get(t, "max_score")));
        }
        web_raw(b, "</tbody>\n</table>\n");
    }
    if (json_is_object(hidden) && json_integer_value(json_object_get(hidden, "count")) > 0)
        web_printf(b, "<p id=\"hidden-tests\">Plus %lld hidden test%s: %g of %g points.</p>\n",
                   (long long)json_integer_value(json_object_get(hidden, "count")),
                   json_integer_value(json_object_get(hidden, "count")) == 1 ? "" : "s",
                   json_number_value(json_object_get(hidden, "score")),
                   json_number_value(json_object_get(hidden, "max_score")));
    web_raw(b, "</section>\n");
}

/* What the compiler said about line of file in its output ("mystr.c:4:13:
 * error: expected ..."): 2 for an error, 1 for a warning, 0 for nothing;
 * the first such message into msg. */
static int compiler_note(const char *out, const char *file, long line, char *msg, size_t cap)
{
    char pat[160];
    int worst = 0;
    snprintf(pat, sizeof pat, "%s:%ld:", file, line);
    for (const char *p = out; p && (p = strstr(p, pat)); p++) {
        if (p != out && p[-1] != '\n' && p[-1] != '/')
            continue;
        const char *q = p + strlen(pat);
        q += strspn(q, "0123456789");
        if (*q == ':')
            q++;
        q += strspn(q, " ");
        int kind = !strncmp(q, "error:", 6) ? 2 : !strncmp(q, "warning:", 8) ? 1 : 0;
        if (kind > worst) {
            worst = kind;
            snprintf(msg, cap, "%.*s", (int)strcspn(q, "\n"), q);
        }
    }
    return worst;
}

/* The source listing: every line an element L{n}; lines with a memory
 * error get class err, a marker and the kinds found there; lines the
 * compiler complained about class cerr (or warn) and its message. */
static void listing(web_buf *b, const src_set *s, const json_t *errs, const char *compile_out)
{
    web_raw(b, "<section aria-labelledby=\"src\">\n<h2 id=\"src\">Your code</h2>\n");
    for (size_t f = 0; f < s->n; f++) {
        const src_file *sf = &s->files[f];
        web_printf(b, "<h3 class=\"file\"><code>%s</code></h3>\n<ol class=\"src\">\n", sf->name);
        long line = 1;
        size_t at = 0;
        while (at < sf->len || (at == sf->len && line == 1 && sf->len == 0)) {
            size_t end = at;
            while (end < sf->len && sf->text[end] != '\n')
                end++;
            /* Errors on this line. */
            char tags[256] = "";
            size_t i;
            json_t *e;
            json_array_foreach(errs, i, e) {
                long l;
                if (locate(s, jstr(e, "location"), &l) == (int)f && l == line) {
                    int k = kind_index(jstr(e, "kind"));
                    const char *t = k >= 0 ? kinds[k].title : "memory error";
                    if (!strstr(tags, t) && strlen(tags) + strlen(t) + 3 < sizeof tags)
                        snprintf(tags + strlen(tags), sizeof tags - strlen(tags), "%s%s",
                                 tags[0] ? ", " : "", t);
                }
            }
            char cmsg[300] = "";
            int cnote = compile_out ? compiler_note(compile_out, sf->name, line, cmsg,
                                                    sizeof cmsg) : 0;
            web_raw(b, "<li id=\"");
            line_id(b, (int)f, line);
            web_raw(b, tags[0] ? "\" class=\"err\"><a class=\"ln\" href=\"#"
                       : cnote == 2 ? "\" class=\"cerr\"><a class=\"ln\" href=\"#"
                       : cnote == 1 ? "\" class=\"warn\"><a class=\"ln\" href=\"#"
                                    : "\"><a class=\"ln\" href=\"#");
            line_id(b, (int)f, line);
            web_printf(b, "\" aria-label=\"line %ld\">%ld</a><code>", line, line);
            web_escn(b, sf->text + at, end - at);
            web_raw(b, "</code>");
            if (tags[0])
                web_printf(b, "<span class=\"tag\"><span aria-hidden=\"true\">⚠</span> %s</span>",
                           tags);
            if (cnote)
                web_printf(b, "<span class=\"tag\"><span aria-hidden=\"true\">%s</span> "
                              "compiler: %s</span>", cnote == 2 ? "✗" : "⚠", cmsg);
            web_raw(b, "</li>\n");
            if (end >= sf->len)
                break;
            at = end + 1;
            line++;
        }
        web_raw(b, "</ol>\n");
    }
    web_raw(b, "</section>\n");
}

static void src_clear(src_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->files[i].text);
    s->n = 0;
}

static void load_sources(api_req *r, long long id, const json_t *names, src_set *s)
{
    size_t i;
    json_t *n;
    s->n = 0;
    json_array_foreach(names, i, n) {
        const char *name = json_string_value(n);
        if (!name || s->n == sizeof s->files / sizeof s->files[0])
            continue;
        web_buf p = WEB_BUF_INIT;
        web_printf(&p, "/api/v1/submissions/%lld/files/", id);
        web_url(&p, name);
        char *body = NULL;
        size_t len = 0;
        int st = p.failed ? 500 : api_internal_get(r, p.p, NULL, &body, &len);
        free(p.p);
        if (st != 200) {
            free(body);
            continue;
        }
        src_file *f = &s->files[s->n++];
        snprintf(f->name, sizeof f->name, "%s", name);
        f->text = body;
        f->len = len;
    }
}

static int h_submission(api_req *r)
{
    if (web_require_user(r))
        return r->status;
    char path[200];
    snprintf(path, sizeof path, "/api/v1/submissions/%s", r->params[0]);
    json_t *sub = NULL;
    int st = web_api_get(r, path, &sub);
    if (st != 200) {
        json_decref(sub);
        /* 404 alike for a missing submission and someone else's, as the API. */
        return st == 404 ? web_error(r, 404, "There is no such submission.")
                         : web_error(r, st >= 400 ? st : 500, "The submission could not be "
                                                                "loaded.");
    }
    long long id = json_integer_value(json_object_get(sub, "id"));
    const char *course = jstr(sub, "course"), *asg = jstr(sub, "assignment");
    const char *status = jstr(sub, "status");
    int graded = status && !strcmp(status, "graded");
    int staff = course && web_is_staff(r, course);
    json_t *doc = json_object_get(sub, "result");
    char title[160];
    snprintf(title, sizeof title, "Submission #%lld", id);
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, title);
    web_raw(&b, "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/\">Courses</a> › ");
    if (course && asg) {
        web_raw(&b, "<a href=\"/courses/");
        web_url(&b, course);
        web_raw(&b, "/");
        web_url(&b, asg);
        web_printf(&b, "\">%s: %s</a>", course, asg);
    }
    web_printf(&b, "</nav>\n<h1>Submission #%lld <span class=\"muted\">%s", id, asg);
    if (staff && strcmp(jstr(sub, "user") ? jstr(sub, "user") : "", r->user.name))
        web_printf(&b, " by %s", jstr(sub, "user"));
    web_raw(&b, "</span></h1>\n<p class=\"meta\">Sent ");
    iso_time_el(&b, jstr(sub, "created_at"), "");
    web_raw(&b, "</p>\n");
    web_printf(&b, "<div id=\"result\" data-id=\"%lld\" data-status=\"%s\">\n", id,
               status ? status : "");
    if (!graded) {
        web_printf(&b, "<p class=\"notice info live\" id=\"status\" role=\"status\" "
                       "aria-live=\"polite\"><span class=\"spinner\" aria-hidden=\"true\">"
                       "</span> <span id=\"status-text\">%s</span></p>\n"
                       "<noscript><p>This page does not update by itself without "
                       "JavaScript: reload it in a moment.</p></noscript>\n",
                   status && !strcmp(status, "running") ? "Grading now…"
                                                        : "Waiting in the queue for grading…");
    } else if (doc) {
        const char *rs = jstr(doc, "status");
        double score = json_number_value(json_object_get(doc, "score"));
        double max = json_number_value(json_object_get(doc, "max_score"));
        json_t *fin = json_object_get(doc, "final_score");
        web_raw(&b, "<p class=\"scoreline\" id=\"status\" role=\"status\">Score: <strong "
                    "id=\"score\">");
        score_text(&b, json_is_number(fin) ? json_number_value(fin) : score, max);
        web_raw(&b, "</strong>");
        if (json_is_number(fin))
            web_printf(&b, " <span class=\"muted\">(%g before the late penalty of %g for %lld "
                           "late day%s)</span>", score,
                       json_number_value(json_object_get(doc, "late_penalty")),
                       (long long)json_integer_value(json_object_get(doc, "late_days")),
                       json_integer_value(json_object_get(doc, "late_days")) == 1 ? "" : "s");
        web_raw(&b, "</p>\n");
        if (rs && !strcmp(rs, "compile_error")) {
            web_printf(&b, "<section aria-labelledby=\"cerr\"><h2 id=\"cerr\">It did not "
                           "compile</h2>\n<pre class=\"compile\">%s</pre></section>\n",
                       jstr(json_object_get(doc, "compile"), "output"));
        } else if (rs && strcmp(rs, "graded")) {
            web_raw(&b, "<p class=\"notice error\"><span class=\"icon\" aria-hidden=\"true\">⚠"
                        "</span> The grader itself failed on this submission: it is not your "
                        "fault. Your instructor has been told by the logs; submit again "
                        "later.</p>\n");
        } else {
            const char *cout = jstr(json_object_get(doc, "compile"), "output");
            if (cout && *cout)
                web_printf(&b, "<details class=\"warnings\"><summary>Compiler warnings"
                               "</summary><pre class=\"compile\">%s</pre></details>\n", cout);
        }
        src_set srcs;
        load_sources(r, id, json_object_get(sub, "files"), &srcs);
        json_t *errs = json_object_get(doc, "memory_errors");
        if (!rs || strcmp(rs, "compile_error"))
            memory_errors(&b, errs, &srcs);
        tests_table(&b, doc, staff);
        listing(&b, &srcs, errs, jstr(json_object_get(doc, "compile"), "output"));
        src_clear(&srcs);
    }
    web_raw(&b, "</div>\n");
    web_page_end(&b);
    json_decref(sub);
    return web_send(r, 200, &b);
}

const api_route web_student_routes[] = {
    {"GET", "/", h_home, AUTH_NONE, NULL},
    {"GET", "/courses/*/*", h_assignment, AUTH_NONE, NULL},
    {"POST", "/courses/*/*", h_submit_post, AUTH_NONE, web_submit_begin},
    {"GET", "/submissions/*", h_submission, AUTH_NONE, NULL},
};
const size_t web_student_nroutes = sizeof web_student_routes / sizeof web_student_routes[0];
